//! Where a base model's weights come from, one tensor at a time:
//! [`super::model::CausalLm::from_source`] asks for each by its Hugging Face name when
//! it needs it, quantizes or casts it and moves it to the device, so host memory
//! holds about one tensor whatever the model's size. A safetensors folder is read
//! from its memory-mapped shards, a GGUF tensor is dequantized when asked for, each
//! tensor's file pages are given back once read, and the heap the previous tensor's
//! copies used is handed back to the OS before the next is read.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, Result};
use tch::{Kind, Tensor};

use super::config::HfConfig;
use super::gguf_model::hf_tensor;
use okla_formats::error::InputError;
use okla_formats::gguf::GgufFile;
use okla_formats::hf::weights::{Dtype, RawTensor, SafetensorsWeights};

/// A base model's weights, read one tensor at a time ([`BaseWeights::take`]).
pub enum BaseWeights {
    /// Tensors already in host memory (random initial weights; a run without weights).
    Memory(HashMap<String, Tensor>),
    /// The safetensors shards of a Hugging Face folder; `names` maps each HF name
    /// of the text model to the name it is stored under.
    Safetensors {
        /// The shards, memory-mapped.
        weights: SafetensorsWeights,
        /// HF name → stored name.
        names: HashMap<String, String>,
    },
    /// A Llama or Gemma 3 GGUF.
    Gguf(Box<GgufWeights>),
}

/// The tensors of a Llama or Gemma 3 GGUF of architecture `config`.
pub struct GgufWeights {
    /// The file, memory-mapped.
    file: GgufFile,
    /// Its architecture.
    config: HfConfig,
    /// HF name → index into the file's tensors.
    names: HashMap<String, usize>,
}

/// The prefixes under which a multimodal Gemma 3 checkpoint
/// (`Gemma3ForConditionalGeneration`) stores its text model, and the
/// `Gemma3ForCausalLM` prefix each stands for: `language_model.model.*`
/// (transformers 4) and `model.language_model.*` (transformers 5) are `model.*`,
/// `language_model.lm_head.*` is `lm_head.*`.
const TEXT_MODEL_PREFIXES: [(&str, &str); 3] = [
    ("language_model.model.", "model."),
    ("model.language_model.", "model."),
    ("language_model.lm_head.", "lm_head."),
];

/// The HF name a stored tensor answers to: a multimodal checkpoint's text-model
/// tensors under their `Gemma3ForCausalLM` names; its vision tower and projector
/// are left out (`None`); other names pass unchanged.
fn text_model_name(stored: &str) -> Option<String> {
    if stored.contains("vision_tower") || stored.contains("multi_modal_projector") {
        return None;
    }
    let renamed = TEXT_MODEL_PREFIXES
        .iter()
        .find_map(|(from, to)| stored.strip_prefix(from).map(|rest| format!("{to}{rest}")));
    Some(renamed.unwrap_or_else(|| stored.to_string()))
}

impl BaseWeights {
    /// The safetensors weights of the HF folder `dir` (shards opened, headers read,
    /// no tensor data yet).
    pub fn open_folder(dir: &Path) -> Result<Self> {
        let weights = SafetensorsWeights::open_folder(dir)?;
        let names = weights
            .shapes()
            .filter_map(|(stored, _)| text_model_name(stored).map(|hf| (hf, stored.to_string())))
            .collect();
        Ok(Self::Safetensors { weights, names })
    }

    /// The weights of a GGUF file of architecture `config` (no tensor data read yet);
    /// a tensor that no HF name stands for is an error naming it.
    pub fn open_gguf(file: GgufFile, config: HfConfig) -> Result<Self> {
        let names = file
            .tensors()
            .iter()
            .enumerate()
            .map(|(i, t)| Ok((super::gguf_model::hf_name(t, &config)?, i)))
            .collect::<Result<_>>()?;
        Ok(Self::Gguf(Box::new(GgufWeights {
            file,
            config,
            names,
        })))
    }

    /// The tensor `name` (an HF name) on the CPU: f32 from a GGUF, as stored
    /// (F32, F16 or BF16) from safetensors; `None` when the model has none. Each
    /// tensor can be taken once.
    pub fn take(&mut self, name: &str) -> Result<Option<Tensor>> {
        return_freed_heap();
        match self {
            Self::Memory(map) => Ok(map.remove(name)),
            Self::Safetensors { weights, names } => names
                .remove(name)
                .map(|stored| weights.with_raw(&stored, host_tensor))
                .transpose(),
            Self::Gguf(gguf) => gguf
                .names
                .remove(name)
                .map(|i| {
                    let t = &gguf.file.tensors()[i];
                    let tensor = hf_tensor(&gguf.file, t, name, &gguf.config)
                        .map_err(|e| InputError::file(gguf.file.path(), format!("{e:#}")).into());
                    gguf.file.release(t);
                    tensor
                })
                .transpose(),
        }
    }

    /// Every tensor not taken yet, by HF name (a small model's whole weights, for
    /// inspection and tests).
    pub fn into_map(mut self) -> Result<HashMap<String, Tensor>> {
        let names: Vec<String> = match &self {
            Self::Memory(map) => map.keys().cloned().collect(),
            Self::Safetensors { names, .. } => names.keys().cloned().collect(),
            Self::Gguf(gguf) => gguf.names.keys().cloned().collect(),
        };
        names
            .into_iter()
            .map(|name| {
                let t = self
                    .take(&name)?
                    .ok_or_else(|| anyhow!("tensor `{name}` vanished"))?;
                Ok((name, t))
            })
            .collect()
    }
}

/// Hand the heap memory freed since the last call back to the OS. The previous
/// tensor's copies (tens of MB each, under glibc's adaptive mmap threshold) were
/// freed into the heap between the long-lived NF4 codes allocated beside them;
/// without trimming, resident memory grew by 5× the model's own size while a
/// 260 M-parameter checkpoint was quantized on the CPU (tests/train_streaming.rs).
fn return_freed_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the OS; it touches no
    // live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A stored tensor copied into a CPU tensor of its own dtype.
fn host_tensor(raw: RawTensor<'_>) -> Result<Tensor> {
    let kind = match raw.dtype {
        Dtype::F32 => Kind::Float,
        Dtype::F16 => Kind::Half,
        Dtype::BF16 => Kind::BFloat16,
        _ => return Err(raw.unsupported()),
    };
    let shape: Vec<i64> = raw.shape.iter().map(|&d| d as i64).collect();
    Ok(Tensor::from_data_size(raw.data, &shape, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multimodal_gemma3_checkpoint_gives_its_text_model_under_causal_lm_names() {
        let cases = [
            (
                "language_model.model.layers.0.self_attn.q_proj.weight",
                Some("model.layers.0.self_attn.q_proj.weight"),
            ),
            (
                "model.language_model.norm.weight",
                Some("model.norm.weight"),
            ),
            ("language_model.lm_head.weight", Some("lm_head.weight")),
            (
                "vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight",
                None,
            ),
            (
                "model.multi_modal_projector.mm_input_projection_weight",
                None,
            ),
            (
                "model.embed_tokens.weight",
                Some("model.embed_tokens.weight"),
            ),
        ];
        for (stored, hf) in cases {
            assert_eq!(text_model_name(stored).as_deref(), hf, "{stored}");
        }
    }
}
