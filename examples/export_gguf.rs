//! Writes what `okla-eval export --base BASE [--adapter DIR] --type TYPE` writes,
//! without the gate and without the `okla.*` stamps, so that the same file can be
//! rebuilt by a test and fed to llama.cpp's quantizer by a script
//! (`scripts/reference/gemma3_export_vectors.py`).
//!
//! Usage: `cargo run --release --example export_gguf -- BASE.gguf|DIR OUT.gguf TYPE [ADAPTER_DIR]`
//! (TYPE: q4_k_m, q8_0, f16 or f32). The model is named `okla-eval export of <BASE's
//! file name>`, as the export command names it.

use std::path::Path;

use anyhow::{bail, Result};
use okla_export::source::ModelSource;
use okla_formats::choice::Choice;
use okla_formats::gguf::FileType;
use okla_formats::hf::peft::LoraAdapter;
use okla_formats::progress::NoProgress;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !(3..=4).contains(&args.len()) {
        bail!("usage: export_gguf BASE.gguf|DIR OUT.gguf q4_k_m|q8_0|f16|f32 [ADAPTER_DIR]");
    }
    let base = Path::new(&args[0]);
    let Some(file_type) = FileType::ALL.iter().copied().find(|t| t.name() == args[2]) else {
        bail!("unknown type {}", args[2]);
    };
    let mut source = ModelSource::base(base, base)?;
    if let Some(adapter) = args.get(3) {
        source = source.with_adapter(LoraAdapter::open(Path::new(adapter))?);
    }
    let name = base
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let metadata = source.metadata(&format!("okla-eval export of {name}"), file_type);
    source.write(Path::new(&args[1]), metadata, file_type, &NoProgress)
}
