//! A peft LoRA adapter written as a GGUF LoRA for its GGUF base: the file
//! llama.cpp's `--lora` loads and [`okla_engine::lora`] applies at run time, in the
//! layout of llama.cpp's `convert_lora_to_gguf.py`:
//! - `general.architecture` of the base, `general.type = "adapter"`,
//!   `adapter.type = "lora"`, `adapter.lora.alpha` (= scale · r, so that llama.cpp's
//!   `alpha / r` is peft's scale, rsLoRA included);
//! - per adapted weight `W`, `W.lora_a` (A, `ne = [in, r]`) and `W.lora_b` (B,
//!   `ne = [r, out]`), in F16 or F32; a Llama's query/key B rows permuted into
//!   llama.cpp's RoPE layout as the base weights are.

use std::path::Path;

use anyhow::{anyhow, Context, Result};

use okla_formats::gguf::llama_names::{permute_for_gguf, permuted_heads};
use okla_formats::gguf::{GgufWriter, Metadata, TensorSpec, Value};
use okla_formats::hf::peft::LoraAdapter;
use okla_formats::progress::{NoProgress, Progress};
use okla_formats::quant::tensor::quantize_tensor;
use okla_formats::quant::QuantType;

use crate::source::{Family, ModelSource};

/// The element types an adapter file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoraType {
    /// 16-bit floats (llama.cpp's converter's default).
    F16,
    /// 32-bit floats.
    F32,
}

impl LoraType {
    fn codec(self) -> QuantType {
        match self {
            LoraType::F16 => QuantType::F16,
            LoraType::F32 => QuantType::F32,
        }
    }

    /// `f16` or `f32`.
    pub fn label(self) -> &'static str {
        match self {
            LoraType::F16 => "f16",
            LoraType::F32 => "f32",
        }
    }
}

/// One adapted weight: its GGUF name and the factors in GGUF row order.
struct Pair {
    name: String,
    rows: usize,
    cols: usize,
    a: Vec<f32>,
    b: Vec<f32>,
}

/// The adapter's factors for every weight of `source` it changes, in the base's
/// tensor order.
fn pairs(source: &ModelSource, adapter: &LoraAdapter) -> Result<Vec<Pair>> {
    let mut out = Vec::new();
    for entry in &source.entries {
        let Some(hf) = source.family.hf_name(&entry.name) else {
            continue;
        };
        let (cols, rows) = (entry.cols(), entry.rows());
        let Some((a, b)) = adapter.factors(&hf, rows, cols)? else {
            continue;
        };
        let b = match &source.family {
            Family::Llama { config, .. } => {
                match permuted_heads(&hf, config.heads, config.kv_heads) {
                    Some(heads) => permute_for_gguf(&b, adapter.config.r, heads)?,
                    None => b,
                }
            }
            Family::Gemma3 { .. } => b,
        };
        out.push(Pair {
            name: entry.name.clone(),
            rows,
            cols,
            a,
            b,
        });
    }
    Ok(out)
}

/// The GGUF LoRA's metadata for `source`'s architecture, named `name`.
fn lora_metadata(source: &ModelSource, adapter: &LoraAdapter, name: &str) -> Metadata {
    let mut md = Metadata::new();
    md.insert(
        "general.architecture",
        Value::String(source.family.architecture().into()),
    );
    md.insert("general.type", Value::String("adapter".into()));
    md.insert("general.name", Value::String(name.into()));
    md.insert("adapter.type", Value::String("lora".into()));
    let alpha = adapter.scale() * adapter.config.r as f64;
    md.insert("adapter.lora.alpha", Value::F32(alpha as f32));
    md
}

/// Writes `adapter` as a GGUF LoRA for `source` (its base) to `path`, atomically,
/// with `extra` metadata; returns how many weights it adapts. An adapter that
/// touches none of the base's weights is an error.
pub fn write_lora_gguf(
    source: &ModelSource,
    adapter: &LoraAdapter,
    path: &Path,
    name: &str,
    ty: LoraType,
    extra: &[(String, Value)],
    progress: &dyn Progress,
) -> Result<usize> {
    let pairs = pairs(source, adapter)?;
    if pairs.is_empty() {
        return Err(anyhow!(
            "the adapter changes none of the weights of {}",
            source.origin.display()
        ));
    }
    let r = adapter.config.r as u64;
    let ggml = ty.codec().ggml_type();
    let specs: Vec<TensorSpec> = pairs
        .iter()
        .flat_map(|p| {
            [
                TensorSpec::new(format!("{}.lora_a", p.name), ggml, vec![p.cols as u64, r]),
                TensorSpec::new(format!("{}.lora_b", p.name), ggml, vec![r, p.rows as u64]),
            ]
        })
        .collect();
    let mut metadata = lora_metadata(source, adapter, name);
    for (k, v) in extra {
        metadata.insert(k.clone(), v.clone());
    }
    let writer = GgufWriter::new(metadata, specs)?;
    progress.start(writer.tensors().len() as u64, "tensors");
    let result = writer.write_file(path, |i, w| {
        let pair = &pairs[i / 2];
        let (data, row) = if i % 2 == 0 {
            (&pair.a, pair.cols)
        } else {
            (&pair.b, r as usize)
        };
        let bytes = quantize_tensor(ty.codec(), data, row, &NoProgress)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", pair.name)))?;
        progress.advance(1);
        w.write_all(&bytes)
    });
    progress.finish();
    result.with_context(|| format!("cannot write {}", path.display()))?;
    Ok(pairs.len())
}
