//! `okla-eval gguf tiny`: write a tiny deterministic Llama GGUF for tests.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use okla_engine::tiny::TinySpec;
use okla_formats::gguf::FileType;

/// Arguments of `gguf tiny`.
#[derive(Debug, Args)]
pub struct TinyArgs {
    /// Where to write the GGUF.
    #[arg(long)]
    pub out: PathBuf,
    /// Seed of the random weights (same seed and shape: same file bytes).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Embedding width (a multiple of 256 for K-quants).
    #[arg(long, default_value_t = 256)]
    pub dim: usize,
    /// Transformer blocks.
    #[arg(long, default_value_t = 2)]
    pub layers: usize,
    /// Query heads.
    #[arg(long, default_value_t = 4)]
    pub heads: usize,
    /// Key/value heads.
    #[arg(long, default_value_t = 2)]
    pub kv_heads: usize,
    /// Feed-forward width (a multiple of 256 for K-quants).
    #[arg(long, default_value_t = 512)]
    pub ff: usize,
    /// Weight types (llama-quantize's recipe).
    #[arg(long = "type", value_parser = super::choice::choice::<FileType>(), default_value = "q4_k_m")]
    pub file_type: FileType,
}

/// Write the tiny model.
pub fn run(args: TinyArgs) -> Result<u8> {
    let spec = TinySpec {
        dim: args.dim,
        layers: args.layers,
        heads: args.heads,
        kv_heads: args.kv_heads,
        ff: args.ff,
        seed: args.seed,
        ..TinySpec::default()
    };
    spec.config()
        .validate()
        .map_err(|e| okla_formats::error::InputError::usage(format!("{e:#}")))?;
    spec.write_gguf(&args.out, args.file_type)?;
    println!("wrote {}", args.out.display());
    Ok(0)
}
