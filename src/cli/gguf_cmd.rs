//! `okla-eval gguf inspect`: look inside GGUF files.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

use crate::gguf::{inspect, GgufFile};

/// `okla-eval gguf ...`
#[derive(Debug, Subcommand)]
pub enum GgufCommand {
    /// Print a GGUF file's metadata and tensor table (reads no tensor data).
    Inspect(InspectArgs),
    /// Write a tiny deterministic Llama GGUF (seeded random weights, Llama 3 vocabulary).
    Tiny(super::tiny_cmd::TinyArgs),
}

/// Arguments of `gguf inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The GGUF file.
    pub file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Run a `gguf` subcommand.
pub fn run(cmd: GgufCommand) -> Result<u8> {
    match cmd {
        GgufCommand::Inspect(args) => {
            let file = GgufFile::open(&args.file)?;
            if args.json {
                println!("{:#}", inspect::render_json(file.layout()));
            } else {
                print!("{}", inspect::render_text(file.layout()));
            }
            Ok(0)
        }
        GgufCommand::Tiny(args) => super::tiny_cmd::run(args),
    }
}
