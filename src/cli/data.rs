//! `okla-eval data ...`: dataset tools. Wiring only; each subcommand's logic lives in
//! its own module under `crate::data`.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

use crate::data;

/// `okla-eval data ...`
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Conversations, turns, modes, intents and token lengths under the Llama 3 template.
    Stats(StatsArgs),
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

/// Run a `data` subcommand.
pub fn run(cmd: DataCommand) -> Result<u8> {
    match cmd {
        DataCommand::Stats(args) => data::stats::run(&data::stats::StatsOptions {
            files: args.files,
            max_seq_lens: args.max_seq_len.into_iter().map(|n| n as usize).collect(),
            json: args.json,
            tokenizer: args.tokenizer,
            lengths_out: args.lengths_out,
        }),
    }
}
