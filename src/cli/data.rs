//! `okla-eval data ...`: dataset tools. Each subcommand's logic lives in its own
//! module of okla-domain; this file declares arguments, dispatches, shows progress
//! and prints what the library returns.

use std::io::{ErrorKind, Write};
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

use okla_domain as data;

use super::progress::Terminal;

/// `okla-eval data ...`
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Conversations, turns, modes, intents and token lengths under the Llama 3 template.
    Stats(StatsArgs),
    /// Generate synthetic OKLA conversations (FASE 2 format), split 80/10/10.
    Synth(SynthArgs),
    /// Check conversation files: parsing, roles, answers against the suite schema, duplicates, leakage.
    Lint(LintArgs),
}

/// Arguments of `data stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// JSONL conversation files (`{"messages": [...]}` per line).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Also report how many conversations this max_seq_len truncates (repeatable;
    /// 2048, the real run's setting, and the recommended length are always reported).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_seq_len: Vec<u32>,
    /// Print the statistics as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Folder with tokenizer.json and tokenizer_config.json [default: the bundled Llama 3].
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// Write every conversation's token length to this CSV (file,line,tokens).
    #[arg(long)]
    pub lengths_out: Option<PathBuf>,
}

/// Arguments of `data synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Seed of the generator: the same seed and count give byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of conversations over the three splits.
    #[arg(long, default_value_t = 3000)]
    pub count: usize,
    /// Train conversations instead of 80% of the count; test and eval stay those of
    /// `--count`, so a bigger training set keeps the committed held-out splits.
    #[arg(long)]
    pub train_count: Option<usize>,
    /// Copy drills appended to the train split: short price-quoting conversations
    /// whose prices are drawn uniformly, so they can only be copied from the context.
    #[arg(long, default_value_t = 0)]
    pub copy_drills: usize,
    /// Folder receiving okla_train.jsonl, okla_eval.jsonl and okla_test.jsonl.
    #[arg(long)]
    pub out: PathBuf,
}

/// Arguments of `data lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// JSONL conversation files (e.g. the train, eval and test splits).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The suite whose response schema and intents the answers must follow.
    #[arg(long, default_value = "suites/okla")]
    pub suite: PathBuf,
}

/// Run a `data` subcommand; returns the exit code.
pub fn run(cmd: DataCommand) -> Result<u8> {
    match cmd {
        DataCommand::Stats(args) => {
            let options = data::stats::StatsOptions {
                files: args.files,
                max_seq_lens: args.max_seq_len.into_iter().map(|n| n as usize).collect(),
                tokenizer: args.tokenizer,
                lengths_out: args.lengths_out,
            };
            let stats = data::stats::run(&options, &Terminal::stderr())?;
            if args.json {
                print_text(&format!("{}\n", serde_json::to_string_pretty(&stats)?))?;
            } else {
                print_text(&data::stats::render_text(&stats))?;
            }
            Ok(0)
        }
        DataCommand::Synth(args) => {
            let sizes = data::synth::SplitSizes::new(args.count, args.train_count)
                .with_copy_drills(args.copy_drills);
            let splits = data::synth::generate(args.seed, sizes, &Terminal::stderr())?;
            data::synth::write(&splits, &args.out)?;
            print_text(&data::synth::render_summary(
                &splits, args.seed, sizes, &args.out,
            ))?;
            Ok(0)
        }
        DataCommand::Lint(args) => {
            let rules = data::lint::Rules::from_suite(&args.suite)?;
            let report = data::lint::lint(&args.files, &rules)?;
            print_text(&report.render())?;
            Ok(if report.count(data::lint::Severity::Error) > 0 {
                1
            } else {
                0
            })
        }
    }
}

/// Write `text` to stdout; a reader that closed the pipe early (`| head`) is not an error.
fn print_text(text: &str) -> Result<()> {
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
