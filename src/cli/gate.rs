//! `okla-eval gate`: run a suite against a model, judge it, write the run folder,
//! exit 0 (pass, maybe with warnings), 1 (a critical metric failed) or 2 (bad input).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;

use crate::backend::replay::ReplayBackend;
use crate::backend::Backend;
use crate::error::InputError;
use crate::gate::{Outcome, Threshold};
use crate::report::{render_terminal, run_dir_name, write_run_dir, Style, SUMMARY_MD};
use crate::runner::{run_suite, RunOptions};
use crate::suite::Suite;

/// The example predictions a suite may ship, replayed when no model is given.
pub const EXAMPLE_PREDICTIONS: &str = "example_predictions.jsonl";

/// Arguments of `okla-eval gate`.
#[derive(Debug, Args)]
pub struct GateArgs {
    /// The suite folder (or its suite.toml).
    #[arg(long, default_value = "suites/okla")]
    pub suite: PathBuf,
    /// Score recorded answers (replay backend): a predictions JSONL with `id` and `output` per line.
    #[arg(long, value_name = "FILE")]
    pub predictions: Option<PathBuf>,
    /// Override a threshold: METRIC=min:VALUE[:IDEAL][:critical] or METRIC=max:... (repeatable).
    #[arg(long = "threshold", value_name = "RULE")]
    pub thresholds: Vec<String>,
    /// Folder under which the run folder `<utc-time>-<model-hash>/` is created.
    #[arg(long, default_value = "runs")]
    pub out_dir: PathBuf,
    /// Write the reports into exactly this folder instead.
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// Score only the first N cases (a quick look; never for a real gate).
    #[arg(long, value_name = "N")]
    pub max_cases: Option<usize>,
}

/// Run `okla-eval gate`.
pub fn run(args: GateArgs) -> Result<u8> {
    let threshold_overrides = parse_overrides(&args.thresholds)?;
    let suite = Suite::load(&args.suite)?;
    let options = RunOptions {
        max_cases: args.max_cases,
        threshold_overrides,
        ..RunOptions::default()
    };
    let mut backend = open_backend(&args, &suite)?;
    let run = run_suite(&suite, backend.as_mut(), &options)?;

    let dir = args
        .run_dir
        .clone()
        .unwrap_or_else(|| args.out_dir.join(run_dir_name(&run)));
    write_run_dir(&run, &dir)?;
    print!("{}", render_terminal(&run, Style::detect()));
    println!("reports: {}", dir.display());
    append_step_summary(&dir.join(SUMMARY_MD));
    if run.gate.outcome == Outcome::PassWithWarnings {
        eprintln!("warning: non-critical metrics failed (see above); the gate passes but this model is not at target");
    }
    Ok(run.gate.outcome.exit_code())
}

fn parse_overrides(specs: &[String]) -> Result<BTreeMap<String, Threshold>> {
    let mut out = BTreeMap::new();
    for spec in specs {
        let (name, rule) = Threshold::parse_override(spec).map_err(InputError::usage)?;
        if !crate::score::METRIC_NAMES.contains(&name.as_str()) {
            return Err(InputError::usage(format!(
                "--threshold {spec}: unknown metric {name:?} (known: {})",
                crate::score::METRIC_NAMES.join(", ")
            ))
            .into());
        }
        out.insert(name, rule);
    }
    Ok(out)
}

fn open_backend(args: &GateArgs, suite: &Suite) -> Result<Box<dyn Backend>> {
    let predictions = match &args.predictions {
        Some(p) => p.clone(),
        None => {
            let example = suite.dir.join(EXAMPLE_PREDICTIONS);
            if !example.exists() {
                return Err(InputError::usage(
                    "no model given: pass --predictions FILE (recorded answers to score)",
                )
                .into());
            }
            eprintln!(
                "no model given: replaying the suite's example predictions {}",
                example.display()
            );
            example
        }
    };
    Ok(Box::new(ReplayBackend::open(&predictions)?))
}

/// In GitHub Actions, append the Markdown summary to the job's step summary.
fn append_step_summary(summary: &Path) {
    let Some(target) = std::env::var_os("GITHUB_STEP_SUMMARY") else {
        return;
    };
    let appended = std::fs::read_to_string(summary).and_then(|md| {
        use std::io::Write;
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&target)?
            .write_all(md.as_bytes())
    });
    if let Err(e) = appended {
        eprintln!("warning: could not append to GITHUB_STEP_SUMMARY: {e}");
    }
}
