//! `okla-eval compare`: a run against a golden snapshot or another run.
//! Exit 1 on a regression: a metric worse beyond its tolerance (for a rate, also a
//! significant paired test, `--alpha`), or a worse gate verdict; `--bless` writes the
//! golden file instead.
//! Runs that are not whole, not judged, of another suite or of other cases are refused
//! (exit 2): "no regression" must mean the same cases were compared.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::compare_render::render_comparison;
use okla_formats::error::InputError;
use okla_harness::golden::{
    bless, compare, read_snapshot, snapshot_of_run_dir, CompareOptions, Tolerance, DEFAULT_ALPHA,
};

/// Arguments of `okla-eval compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The run folder to check.
    pub run: PathBuf,
    /// A second run folder to compare against (the baseline is RUN, the current is this one).
    #[arg(conflicts_with = "golden")]
    pub other: Option<PathBuf>,
    /// A golden snapshot file to compare RUN against.
    #[arg(long, value_name = "FILE")]
    pub golden: Option<PathBuf>,
    /// Write RUN as the new golden snapshot (explicitly accepting its numbers).
    #[arg(long, requires = "golden")]
    pub bless: bool,
    /// Tolerance override: METRIC=0.02 (absolute) or METRIC=10% (relative); repeatable.
    #[arg(long = "tolerance", value_name = "RULE")]
    pub tolerances: Vec<String>,
    /// Significance level of the paired test on rate metrics: a rate regresses only when
    /// it drops beyond its tolerance and its flipped cases give p < ALPHA (exact McNemar).
    #[arg(long, value_name = "ALPHA", default_value_t = DEFAULT_ALPHA, value_parser = parse_alpha)]
    pub alpha: f64,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
}

/// A significance level: a number strictly between 0 and 1.
fn parse_alpha(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(alpha) if alpha > 0.0 && alpha < 1.0 => Ok(alpha),
        _ => Err(format!(
            "{s:?} is not a significance level: write a number between 0 and 1, e.g. 0.05"
        )),
    }
}

/// Run `okla-eval compare`.
pub fn run(args: CompareArgs) -> Result<u8> {
    if let (Some(golden), true) = (&args.golden, args.bless) {
        bless(&args.run, golden)?;
        println!("blessed {} as {}", args.run.display(), golden.display());
        return Ok(super::EXIT_PASS);
    }
    let run_snapshot = snapshot_of_run_dir(&args.run)?;
    let (baseline, current, baseline_path) = match (&args.golden, &args.other) {
        (Some(golden), None) => (read_snapshot(golden)?, run_snapshot, golden),
        (None, Some(other)) => (run_snapshot, snapshot_of_run_dir(other)?, &args.run),
        _ => {
            return Err(
                InputError::usage("give either --golden FILE or a second run folder").into(),
            )
        }
    };
    let mut tolerances = BTreeMap::new();
    for spec in &args.tolerances {
        let (name, value) = spec.split_once('=').ok_or_else(|| {
            InputError::usage(format!("--tolerance {spec:?}: expected METRIC=VALUE"))
        })?;
        let tolerance = Tolerance::parse(value)
            .map_err(|e| InputError::usage(format!("--tolerance {spec:?}: {e}")))?;
        tolerances.insert(name.to_string(), tolerance);
    }
    let options = CompareOptions {
        tolerances,
        alpha: args.alpha,
    };
    let current_path = args.other.as_ref().unwrap_or(&args.run);
    let comparison = compare(&baseline, &current, &options).map_err(|why| {
        InputError::usage(format!(
            "{} and {}: {why}",
            baseline_path.display(),
            current_path.display()
        ))
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&comparison)?);
    } else {
        print!("{}", render_comparison(&comparison));
    }
    Ok(if comparison.regressed() {
        super::EXIT_FAIL
    } else {
        super::EXIT_PASS
    })
}
