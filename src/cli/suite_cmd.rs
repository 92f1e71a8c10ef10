//! `okla-eval suite check|reference`: validate a suite, or write its reference answers
//! as a predictions file (a replay of ground truth scores 100% on every metric).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

use okla_formats::atomic::write_atomic_with;
use okla_harness::suite::Suite;

/// `okla-eval suite ...`
#[derive(Debug, Subcommand)]
pub enum SuiteCommand {
    /// Load a suite and report what it holds (exit 2 with file:line:field on any problem).
    Check(CheckArgs),
    /// Write the suite's reference assistant turns as a predictions JSONL.
    Reference(ReferenceArgs),
}

/// Arguments of `suite check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The suite folder (or its suite.toml).
    #[arg(default_value = "suites/okla")]
    pub suite: PathBuf,
}

/// Arguments of `suite reference`.
#[derive(Debug, Args)]
pub struct ReferenceArgs {
    /// The suite folder (or its suite.toml).
    #[arg(default_value = "suites/okla")]
    pub suite: PathBuf,
    /// Where to write the predictions JSONL.
    #[arg(long)]
    pub out: PathBuf,
}

/// Run a `suite` subcommand.
pub fn run(cmd: SuiteCommand) -> Result<u8> {
    match cmd {
        SuiteCommand::Check(args) => {
            let suite = Suite::load(&args.suite)?;
            let m = &suite.manifest;
            println!("suite {} ({})", m.name, suite.dir.display());
            println!(
                "  cases:       {} assistant turns from {} file(s)",
                suite.cases.len(),
                m.cases.len()
            );
            println!(
                "  eval split:  {}",
                m.eval_split.as_deref().unwrap_or("none")
            );
            println!("  schema:      {}", m.schema);
            println!("  thresholds:  {}", m.thresholds.len());
            println!("  sha256:      {}", suite.hash);
            Ok(0)
        }
        SuiteCommand::Reference(args) => {
            let suite = Suite::load(&args.suite)?;
            write_atomic_with(&args.out, |w| {
                for case in &suite.cases {
                    let line = serde_json::json!({"id": case.id, "output": case.reference});
                    writeln!(w, "{line}")?;
                }
                Ok(())
            })?;
            println!(
                "wrote {} reference answers to {}",
                suite.cases.len(),
                args.out.display()
            );
            Ok(0)
        }
    }
}
