//! A Llama GGUF as the trainer's base model: every tensor dequantized to f32
//! (`okla_formats::quant`), renamed to its Hugging Face name with llama.cpp's Q/K row
//! permutation undone (`okla_formats::gguf::llama_names`), the [`HfConfig`] from the
//! `llama.*` metadata and the tokenizer from the `tokenizer.ggml.*` metadata.
//!
//! llama.cpp stores Llama 3.1 RoPE scaling as a `rope_freqs.weight` tensor of
//! per-pair divisors rather than as metadata; it is kept under that name in the
//! weights and [`super::model::Llama::from_weights`] divides the inverse
//! frequencies by it.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use tch::{Kind, Tensor};

use super::base_model::BaseModel;
use super::config::HfConfig;
use okla_formats::error::InputError;
use okla_formats::gguf::llama_names::{hf_name, permuted_heads, unpermute_from_gguf, ROPE_FREQS};
use okla_formats::gguf::{GgufFile, TensorInfo};
use okla_formats::llama_config::config_from_metadata;
use okla_formats::quant::tensor::dequantize_tensor_into;
use okla_formats::quant::QuantType;
use okla_text::gguf_vocab::vocab_from_metadata;

/// The HF configuration of a GGUF's `llama.*` metadata (untied when it has an
/// `output.weight`).
fn config_of(file: &GgufFile) -> Result<HfConfig> {
    let shape = config_from_metadata(file.metadata())?;
    HfConfig::from_llama_config(&shape, file.tensor("output.weight").is_none())
}

/// One tensor dequantized to f32, shaped `[rows, cols]` (or `[cols]` for vectors).
fn dequantize(file: &GgufFile, t: &TensorInfo) -> Result<(Vec<f32>, Vec<i64>)> {
    let ty = QuantType::from_ggml_type_id(t.ggml_type as u32)
        .ok_or_else(|| anyhow!("type {} cannot be dequantized", t.ggml_type.name()))?;
    let cols = *t.dims.first().unwrap_or(&1) as usize;
    let mut out = vec![0.0f32; t.n_elements() as usize];
    dequantize_tensor_into(ty, file.tensor_data(t), cols, &mut out)?;
    let shape: Vec<i64> = t.dims.iter().rev().map(|&d| d as i64).collect();
    Ok((out, shape))
}

/// Read `path` as the trainer's base model (f32 CPU tensors under HF names, plus
/// `rope_freqs.weight` when the file has it; none without `weights`). Problems
/// with the file are input errors naming it (exit code 2).
pub fn load_gguf_base(path: &Path, weights: bool) -> Result<BaseModel> {
    let as_input =
        |e: anyhow::Error| -> anyhow::Error { InputError::file(path, format!("{e:#}")).into() };
    let file = GgufFile::open(path)?;
    let config = config_of(&file).map_err(as_input)?;
    let tokenizer = vocab_from_metadata(file.metadata())
        .and_then(|v| v.chat_tokenizer())
        .map_err(as_input)?;
    let (heads, kv_heads) = (
        config.num_attention_heads as usize,
        config.kv_heads() as usize,
    );
    let mut tensors = HashMap::new();
    for t in file.tensors().iter().filter(|_| weights) {
        let name = if t.name == ROPE_FREQS {
            ROPE_FREQS.to_string()
        } else {
            hf_name(&t.name)
                .ok_or_else(|| anyhow!("tensor `{}` is not part of a Llama model", t.name))
                .map_err(as_input)?
        };
        let (mut data, shape) = dequantize(&file, t)
            .with_context(|| format!("tensor `{}`", t.name))
            .map_err(as_input)?;
        if let Some(h) = permuted_heads(&name, heads, kv_heads) {
            let cols = *shape.last().unwrap_or(&1) as usize;
            data = unpermute_from_gguf(&data, cols, h)
                .with_context(|| format!("tensor `{}`", t.name))
                .map_err(as_input)?;
        }
        let tensor = Tensor::from_slice(&data)
            .reshape(&shape[..])
            .to_kind(Kind::Float);
        tensors.insert(name, tensor);
    }
    Ok(BaseModel {
        config,
        weights: tensors,
        tokenizer,
    })
}
