//! A Llama or Gemma 3 GGUF as the trainer's base model: each tensor dequantized to
//! f32 (`okla_formats::quant`) when the model asks for it and renamed to its Hugging
//! Face name, the [`HfConfig`]
//! from the architecture's metadata and the tokenizer from the `tokenizer.ggml.*`
//! metadata (byte-level BPE with the Llama 3 chat template, SentencePiece with the
//! Gemma 3 one: [`ChatTokenizer::from_gguf`]).
//!
//! Llama (`general.architecture = "llama"`): llama.cpp's Q/K row permutation is undone
//! (`okla_formats::gguf::llama_names`); Llama 3.1 RoPE scaling is stored as a
//! `rope_freqs.weight` tensor of per-pair divisors rather than as metadata: it is kept
//! under that name in the weights and [`super::model::CausalLm::from_source`] divides
//! the inverse frequencies by it.
//!
//! Gemma 3 (`"gemma3"`): names through `okla_formats::gguf::gemma3_names` (no
//! permutation), every norm weight less the [`NORM_SHIFT`] `convert_hf_to_gguf.py`
//! added, the config from the `gemma3.*` metadata as llama.cpp reads it
//! ([`gemma3_config_from_metadata`] → [`HfConfig::from_gemma3_config`]); the output
//! head is the tied embedding.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use tch::{Kind, Tensor};

use super::base_model::BaseModel;
use super::config::{Architecture, HfConfig};
use super::weight_source::BaseWeights;
use okla_formats::error::InputError;
use okla_formats::gemma3_config::gemma3_config_from_metadata;
use okla_formats::gguf::gemma3_names::{self, is_shifted_norm, NORM_SHIFT};
use okla_formats::gguf::llama_names::{self, permuted_heads, unpermute_from_gguf, ROPE_FREQS};
use okla_formats::gguf::{GgufFile, TensorInfo};
use okla_formats::llama_config::config_from_metadata;
use okla_formats::quant::tensor::dequantize_tensor_into;
use okla_formats::quant::QuantType;
use okla_text::ChatTokenizer;

/// The HF configuration of a GGUF's metadata: `llama.*` (untied when it has an
/// `output.weight`) or `gemma3.*`; another architecture is an error naming it.
fn config_of(file: &GgufFile) -> Result<HfConfig> {
    let arch = file.metadata().str("general.architecture")?;
    match arch {
        "llama" => {
            let shape = config_from_metadata(file.metadata())?;
            HfConfig::from_llama_config(&shape, file.tensor("output.weight").is_none())
        }
        "gemma3" => HfConfig::from_gemma3_config(&gemma3_config_from_metadata(file.metadata())?),
        other => bail!(
            "general.architecture is {other:?}; the trainer reads \"llama\" and \"gemma3\" models"
        ),
    }
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

/// The HF name of a GGUF tensor of a model of architecture `config` (a Llama's
/// `rope_freqs.weight` keeps its name); a tensor no HF name stands for is an error.
pub(crate) fn hf_name(t: &TensorInfo, config: &HfConfig) -> Result<String> {
    let arch = config.architecture().map_err(anyhow::Error::msg)?;
    match arch {
        Architecture::Llama if t.name == ROPE_FREQS => Some(ROPE_FREQS.to_string()),
        Architecture::Llama => llama_names::hf_name(&t.name),
        Architecture::Gemma3 => gemma3_names::hf_name(&t.name),
    }
    .ok_or_else(|| anyhow!("tensor `{}` is not part of a {arch:?} model", t.name))
}

/// One GGUF tensor as the f32 HF tensor it was converted from, its values put back
/// (Llama: Q/K rows unpermuted; Gemma 3: norms less [`NORM_SHIFT`]).
/// `name` is the tensor's HF name ([`hf_name`]).
pub(crate) fn hf_tensor(
    file: &GgufFile,
    t: &TensorInfo,
    name: &str,
    config: &HfConfig,
) -> Result<Tensor> {
    let (mut data, shape) = dequantize(file, t).with_context(|| format!("tensor `{}`", t.name))?;
    match config.architecture().map_err(anyhow::Error::msg)? {
        Architecture::Llama => {
            let heads = (
                config.num_attention_heads as usize,
                config.kv_heads() as usize,
            );
            if let Some(h) = permuted_heads(name, heads.0, heads.1) {
                let cols = *shape.last().unwrap_or(&1) as usize;
                data = unpermute_from_gguf(&data, cols, h)
                    .with_context(|| format!("tensor `{}`", t.name))?;
            }
        }
        Architecture::Gemma3 if is_shifted_norm(name) => {
            data.iter_mut().for_each(|v| *v -= NORM_SHIFT);
        }
        Architecture::Gemma3 => {}
    }
    Ok(Tensor::from_slice(&data)
        .reshape(&shape[..])
        .to_kind(Kind::Float))
}

/// Read `path` as the trainer's base model: its configuration, the tokenizer and
/// chat template of its `tokenizer.ggml.*` metadata, and (with `weights`) its
/// tensors, dequantized one at a time when the model asks for them
/// ([`BaseWeights::open_gguf`]). Problems with the file are input errors naming it
/// (exit code 2).
pub fn load_gguf_base(path: &Path, weights: bool) -> Result<BaseModel> {
    let file = GgufFile::open(path)?;
    let read = || -> Result<BaseModel> {
        let config = config_of(&file)?;
        let tokenizer = ChatTokenizer::from_gguf(file.metadata())?;
        Ok(BaseModel {
            config,
            weights: BaseWeights::Memory(HashMap::new()),
            tokenizer,
        })
    };
    let mut base = read().map_err(|e| InputError::file(path, format!("{e:#}")))?;
    if weights {
        base.weights = BaseWeights::open_gguf(file, base.config.clone())
            .map_err(|e| InputError::file(path, format!("{e:#}")))?;
    }
    Ok(base)
}
