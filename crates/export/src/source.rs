//! The weights an export writes, by GGUF name and in f32: a Hugging Face model
//! folder (renamed, query/key rows permuted into llama.cpp's RoPE layout) or a GGUF
//! file (dequantized), optionally with a LoRA adapter merged in f32.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};

use okla_engine::model_file::TensorEntry;
use okla_formats::error::InputError;
use okla_formats::gguf::llama_names::{
    gguf_name, hf_name, permute_for_gguf, permuted_heads, ROPE_FREQS,
};
use okla_formats::gguf::GgufFile;
use okla_formats::hf::config::{HfConfig, RopeScaling};
use okla_formats::hf::peft::LoraAdapter;
use okla_formats::hf::weights::SafetensorsWeights;
use okla_formats::llama_config::config_from_metadata;
use okla_formats::llama_config::LlamaConfig;
use okla_formats::quant::tensor::dequantize_tensor_into;
use okla_formats::quant::QuantType;
use okla_text::gguf_vocab::vocab_from_metadata;
use okla_text::gguf_vocab::GgufVocab;
use okla_text::ChatTokenizer;

/// Where the base weights live.
enum Base {
    /// A HF folder's safetensors, with the RoPE factors `config.json` implies.
    Hf {
        weights: SafetensorsWeights,
        rope_freqs: Option<Vec<f32>>,
    },
    /// A GGUF file.
    Gguf(GgufFile),
}

/// A model to export: configuration, vocabulary and tensors loaded on demand.
pub struct ModelSource {
    /// The GGUF-level hyper-parameters.
    pub config: LlamaConfig,
    /// The vocabulary written to the GGUF.
    pub vocab: GgufVocab,
    /// The tensors, by GGUF name.
    pub entries: Vec<TensorEntry>,
    base: Base,
    adapter: Option<LoraAdapter>,
    /// Where the base came from (for messages).
    pub origin: PathBuf,
}

impl ModelSource {
    /// A HF model folder (`config.json` + safetensors); the vocabulary comes from
    /// `tokenizer_dir` (tokenizer.json + tokenizer_config.json).
    pub fn hf_folder(dir: &Path, tokenizer_dir: &Path) -> Result<Self> {
        let config_path = dir.join("config.json");
        let hf = HfConfig::load(&config_path)?;
        let config = hf
            .llama_config()
            .map_err(|e| InputError::file(&config_path, format!("{e:#}")))?;
        let weights = SafetensorsWeights::open_folder(dir)?;
        let mut entries = Vec::new();
        for (name, shape) in weights.shapes() {
            let gguf = gguf_name(name).ok_or_else(|| {
                anyhow!(
                    "{}: tensor `{name}` is not part of a Llama model",
                    dir.display()
                )
            })?;
            entries.push(TensorEntry {
                name: gguf,
                dims: shape.iter().rev().map(|&d| d as u64).collect(),
            });
        }
        let rope_freqs = hf
            .scaling()
            .map(|s| llama3_rope_factors(&s, hf.theta(), config.rope_dims));
        if let Some(f) = &rope_freqs {
            entries.push(TensorEntry {
                name: ROPE_FREQS.into(),
                dims: vec![f.len() as u64],
            });
        }
        let chat = ChatTokenizer::from_dir(tokenizer_dir)?;
        let vocab = GgufVocab::from_tokenizer(
            chat.hf_tokenizer().context("a tokenizer.json tokenizer")?,
            "<|begin_of_text|>",
            "<|eot_id|>",
        )?;
        Ok(Self {
            config,
            vocab,
            entries,
            base: Base::Hf {
                weights,
                rope_freqs,
            },
            adapter: None,
            origin: dir.to_path_buf(),
        })
    }

    /// A GGUF file (any tensor types the codecs read); vocabulary from its metadata.
    pub fn gguf(path: &Path) -> Result<Self> {
        let file = GgufFile::open(path)?;
        let config = config_from_metadata(file.metadata())
            .with_context(|| format!("{}: not a Llama GGUF", path.display()))?;
        let vocab = vocab_from_metadata(file.metadata())
            .with_context(|| format!("{}: tokenizer metadata", path.display()))?;
        let entries = file
            .tensors()
            .iter()
            .map(|t| TensorEntry {
                name: t.name.clone(),
                dims: t.dims.clone(),
            })
            .collect();
        Ok(Self {
            config,
            vocab,
            entries,
            base: Base::Gguf(file),
            adapter: None,
            origin: path.to_path_buf(),
        })
    }

    /// A base model: a GGUF file (by extension) or a HF folder.
    pub fn base(base: &Path, tokenizer_dir: &Path) -> Result<Self> {
        if base
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
        {
            Self::gguf(base)
        } else {
            Self::hf_folder(base, tokenizer_dir)
        }
    }

    /// A finished training run: its `model/` (full training), or its `adapter/`
    /// merged into the base its recipe.json names; the tokenizer comes from
    /// `tokenizer_dir` or that base folder.
    pub fn training_run(run: &Path, tokenizer_dir: Option<&Path>) -> Result<Self> {
        let base = recipe_base(run)?;
        let tokenizer = tokenizer_dir.map_or_else(|| base.clone(), Path::to_path_buf);
        if run.join("model").is_dir() {
            Self::hf_folder(&run.join("model"), &tokenizer)
        } else if run.join("adapter").is_dir() {
            Ok(Self::base(&base, &tokenizer)?
                .with_adapter(LoraAdapter::open(&run.join("adapter"))?))
        } else {
            Err(InputError::file(
                run,
                "holds neither model/ nor adapter/: has the training run finished?",
            )
            .into())
        }
    }

    /// Merge `adapter` into the weights it targets as they load.
    pub fn with_adapter(mut self, adapter: LoraAdapter) -> Self {
        self.adapter = Some(adapter);
        self
    }

    /// Tensor `i` of [`ModelSource::entries`] in f32, with the adapter's update
    /// merged (in HF row order, before llama.cpp's row permutation).
    pub fn load(&self, i: usize) -> Result<Vec<f32>> {
        let entry = &self.entries[i];
        let cols = entry.cols();
        let rows = entry.dims.iter().skip(1).product::<u64>() as usize;
        let hf = hf_name(&entry.name);
        let heads = hf
            .as_deref()
            .and_then(|n| permuted_heads(n, self.config.heads, self.config.kv_heads));
        let permute = |data: Vec<f32>, heads: Option<usize>| -> Result<Vec<f32>> {
            match heads {
                Some(h) => Ok(permute_for_gguf(&data, cols, h)?),
                None => Ok(data),
            }
        };
        let delta = match (&self.adapter, &hf) {
            (Some(a), Some(name)) => a.delta(name, rows, cols)?,
            _ => None,
        };
        match &self.base {
            Base::Hf {
                weights,
                rope_freqs,
            } => {
                if entry.name == ROPE_FREQS {
                    return rope_freqs.clone().ok_or_else(|| anyhow!("no RoPE factors"));
                }
                let name = hf.ok_or_else(|| anyhow!("no HF name for {}", entry.name))?;
                let (_, mut data) = weights.f32(&name)?;
                if let Some(d) = delta {
                    add(&mut data, &d);
                }
                permute(data, heads)
            }
            Base::Gguf(file) => {
                let info = &file.tensors()[i];
                let codec =
                    QuantType::from_ggml_type_id(info.ggml_type as u32).ok_or_else(|| {
                        anyhow!("{}: no codec for {}", info.name, info.ggml_type.name())
                    })?;
                let mut data = vec![0f32; info.n_elements() as usize];
                dequantize_tensor_into(codec, file.tensor_data(info), cols, &mut data)
                    .with_context(|| format!("dequantizing {}", info.name))?;
                if let Some(d) = delta {
                    add(&mut data, &permute(d, heads)?);
                }
                Ok(data)
            }
        }
    }

    /// How many base weights the adapter changes (0 without one).
    pub fn merged_modules(&self) -> usize {
        self.adapter.as_ref().map_or(0, |a| a.module_count())
    }
}

/// The base model a training run names in its recipe.json (`model`).
fn recipe_base(run: &Path) -> Result<PathBuf> {
    let path = run.join("recipe.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| InputError::file(&path, format!("cannot read: {e}")))?;
    let recipe: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| InputError::at(&path, e.line(), None, e.to_string()))?;
    recipe
        .get("model")
        .and_then(|m| m.as_str())
        .map(PathBuf::from)
        .ok_or_else(|| {
            InputError::file(&path, "names no base model")
                .with_field("model")
                .into()
        })
}

fn add(data: &mut [f32], delta: &[f32]) {
    for (w, d) in data.iter_mut().zip(delta) {
        *w += d;
    }
}

/// llama.cpp's `rope_freqs` for Llama 3.1 RoPE scaling: one divisor per frequency
/// pair (1 for high frequencies, `factor` for low ones, a smooth blend between), as
/// its converter derives them from `rope_scaling`.
fn llama3_rope_factors(s: &RopeScaling, theta: f64, head_dim: usize) -> Vec<f32> {
    let low_wavelen = s.original_max_position_embeddings / s.low_freq_factor;
    let high_wavelen = s.original_max_position_embeddings / s.high_freq_factor;
    (0..head_dim / 2)
        .map(|i| {
            let freq = 1.0 / theta.powf(2.0 * i as f64 / head_dim as f64);
            let wavelen = 2.0 * std::f64::consts::PI / freq;
            let factor = if wavelen < high_wavelen {
                1.0
            } else if wavelen > low_wavelen {
                s.factor
            } else {
                let smooth = (s.original_max_position_embeddings / wavelen - s.low_freq_factor)
                    / (s.high_freq_factor - s.low_freq_factor);
                1.0 / ((1.0 - smooth) / s.factor + smooth)
            };
            factor as f32
        })
        .collect()
}
