//! `okla-eval gguf inspect|quantize`: look inside GGUF files and re-quantize them.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

use std::collections::BTreeMap;

use okla_formats::gguf::quantize::quantize_file_with_threads;
use okla_formats::gguf::{inspect, FileType, GgufFile};

/// `okla-eval gguf ...`
#[derive(Debug, Subcommand)]
pub enum GgufCommand {
    /// Print a GGUF file's metadata and tensor table (reads no tensor data).
    Inspect(InspectArgs),
    /// Write a tiny deterministic Llama GGUF (seeded random weights, Llama 3 vocabulary).
    Tiny(super::tiny_cmd::TinyArgs),
    /// Re-quantize a GGUF file (F32/F16/BF16 weights) the way llama-quantize does.
    Quantize(QuantizeArgs),
}

/// Arguments of `gguf quantize`.
#[derive(Debug, Args)]
pub struct QuantizeArgs {
    /// The input GGUF file.
    pub input: PathBuf,
    /// Where to write the quantized GGUF file.
    pub output: PathBuf,
    /// Target file type.
    #[arg(long = "type", value_parser = super::choice::choice::<FileType>())]
    pub file_type: FileType,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
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
        GgufCommand::Quantize(args) => {
            let report = quantize_file_with_threads(
                &args.input,
                &args.output,
                args.file_type,
                args.threads,
                &*super::progress::for_command(args.quiet),
            )?;
            let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
            for t in &report.tensors {
                *by_type.entry(t.to.name()).or_default() += 1;
            }
            let counts: Vec<String> = by_type.iter().map(|(t, n)| format!("{t} ×{n}")).collect();
            let (bytes_in, bytes_out) = report.totals();
            const MIB: f64 = 1024.0 * 1024.0;
            println!(
                "wrote {}: {} tensors ({}), {:.2} MiB -> {:.2} MiB",
                args.output.display(),
                report.tensors.len(),
                counts.join(", "),
                bytes_in as f64 / MIB,
                bytes_out as f64 / MIB
            );
            Ok(0)
        }
    }
}
