//! The weights an export writes, by GGUF name and in f32: a Hugging Face model
//! folder (renamed; a Llama's query/key rows permuted into llama.cpp's RoPE layout, a
//! Gemma 3's norm weights shifted by +1) or a GGUF file (dequantized), optionally with
//! a LoRA adapter merged in f32. Llama and Gemma 3 models are exported.

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, ensure, Context, Result};

use crate::gemma3;

use okla_engine::model_file::{llama_metadata, write_llama_gguf, TensorEntry};
use okla_formats::error::InputError;
use okla_formats::gemma3_config::{gemma3_config_from_metadata, Gemma3Config};
use okla_formats::gguf::gemma3_names::{self, is_shifted_norm, NORM_SHIFT};
use okla_formats::gguf::llama_names::{self, permute_for_gguf, permuted_heads, ROPE_FREQS};
use okla_formats::gguf::{FileType, GgufFile, Metadata};
use okla_formats::hf::config::{Architecture, HfConfig, RopeScaling};
use okla_formats::hf::peft::LoraAdapter;
use okla_formats::hf::weights::SafetensorsWeights;
use okla_formats::llama_config::config_from_metadata;
use okla_formats::llama_config::LlamaConfig;
use okla_formats::progress::Progress;
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

/// The architecture of a model to export, with what its GGUF metadata is made of.
#[derive(Debug, Clone)]
pub enum Family {
    /// A Llama: `llama.*` hyper-parameters and a byte-level BPE vocabulary.
    Llama {
        /// The GGUF-level hyper-parameters.
        config: LlamaConfig,
        /// The vocabulary written to the GGUF.
        vocab: GgufVocab,
    },
    /// A Gemma 3 text model: `gemma3.*` hyper-parameters and the SentencePiece
    /// `tokenizer.ggml.*` keys of a Gemma 3 GGUF ([`crate::gemma3::tokenizer_metadata`]).
    Gemma3 {
        /// The GGUF-level hyper-parameters.
        config: Gemma3Config,
        /// The tokenizer keys written to the GGUF.
        tokenizer: Metadata,
    },
}

impl Family {
    /// The HF name of a GGUF tensor name of this architecture.
    pub(crate) fn hf_name(&self, gguf: &str) -> Option<String> {
        match self {
            Family::Llama { .. } => llama_names::hf_name(gguf),
            Family::Gemma3 { .. } => gemma3_names::hf_name(gguf),
        }
    }

    /// The GGUF name of a HF tensor name of this architecture.
    fn gguf_name(&self, hf: &str) -> Option<String> {
        match self {
            Family::Llama { .. } => llama_names::gguf_name(hf),
            Family::Gemma3 { .. } => gemma3_names::gguf_name(hf),
        }
    }

    /// `general.architecture` of this family.
    pub fn architecture(&self) -> &'static str {
        match self {
            Family::Llama { .. } => "llama",
            Family::Gemma3 { .. } => "gemma3",
        }
    }
}

/// A model to export: architecture, configuration, vocabulary and tensors loaded on demand.
pub struct ModelSource {
    /// The architecture, hyper-parameters and vocabulary.
    pub family: Family,
    /// The tensors, by GGUF name.
    pub entries: Vec<TensorEntry>,
    base: Base,
    adapter: Option<LoraAdapter>,
    /// Where the base came from (for messages).
    pub origin: PathBuf,
}

impl ModelSource {
    /// A HF model folder (`config.json` + safetensors). A Llama's vocabulary comes
    /// from `tokenizer_dir` (tokenizer.json + tokenizer_config.json); a Gemma 3's
    /// (`model_type` `gemma3_text`) from the Gemma 3 GGUF `tokenizer_dir` names.
    pub fn hf_folder(dir: &Path, tokenizer_dir: &Path) -> Result<Self> {
        let config_path = dir.join("config.json");
        let hf = HfConfig::load(&config_path)?;
        if hf.architecture() == Ok(Architecture::Gemma3) {
            let config = hf.gemma3_config().map_err(|e| e.in_file(&config_path))?;
            return Self::gemma3_hf_folder(dir, &config_path, config, tokenizer_dir);
        }
        let config = hf
            .llama_config()
            .map_err(|e| InputError::file(&config_path, format!("{e:#}")))?;
        let weights = SafetensorsWeights::open_folder(dir)?;
        let rope_freqs = hf
            .scaling()
            .map(|s| llama3_rope_factors(&s, hf.theta(), config.rope_dims));
        let chat = ChatTokenizer::from_dir(tokenizer_dir)?;
        let vocab = GgufVocab::from_tokenizer(
            chat.hf_tokenizer().context("a tokenizer.json tokenizer")?,
            "<|begin_of_text|>",
            "<|eot_id|>",
        )?;
        let family = Family::Llama { config, vocab };
        let mut entries = hf_entries(&family, dir, &weights)?;
        if let Some(f) = &rope_freqs {
            entries.push(TensorEntry {
                name: ROPE_FREQS.into(),
                dims: vec![f.len() as u64],
            });
        }
        Ok(Self {
            family,
            entries,
            base: Base::Hf {
                weights,
                rope_freqs,
            },
            adapter: None,
            origin: dir.to_path_buf(),
        })
    }

    /// A HF Gemma 3 text model folder; its SentencePiece vocabulary is copied from
    /// the Gemma 3 GGUF `tokenizer` (a HF folder's tokenizer.model is not read).
    fn gemma3_hf_folder(
        dir: &Path,
        config_path: &Path,
        config: Gemma3Config,
        tokenizer: &Path,
    ) -> Result<Self> {
        if !is_gguf(tokenizer) || !tokenizer.is_file() {
            return Err(InputError::file(
                tokenizer,
                "a Gemma 3 HF folder takes its SentencePiece vocabulary from a Gemma 3 GGUF: \
                 pass --tokenizer FILE.gguf (tokenizer.model is not read)",
            )
            .into());
        }
        let file = GgufFile::open(tokenizer)?;
        let tokenizer_md = gemma3::tokenizer_metadata(file.metadata())
            .with_context(|| format!("{}: tokenizer metadata", tokenizer.display()))?;
        let tokens = gemma3::token_count(&tokenizer_md)?;
        if tokens != config.vocab {
            return Err(InputError::file(
                config_path,
                format!(
                    "is {} but the tokenizer of {} has {tokens} tokens",
                    config.vocab,
                    tokenizer.display()
                ),
            )
            .with_field("vocab_size")
            .into());
        }
        let weights = SafetensorsWeights::open_folder(dir)?;
        let family = Family::Gemma3 {
            config,
            tokenizer: tokenizer_md,
        };
        let entries = hf_entries(&family, dir, &weights)?;
        Ok(Self {
            family,
            entries,
            base: Base::Hf {
                weights,
                rope_freqs: None,
            },
            adapter: None,
            origin: dir.to_path_buf(),
        })
    }

    /// A GGUF file (any tensor types the codecs read) of a Llama or a Gemma 3;
    /// vocabulary from its metadata.
    pub fn gguf(path: &Path) -> Result<Self> {
        let file = GgufFile::open(path)?;
        let md = file.metadata();
        let in_file = |what: &str| format!("{}: {what}", path.display());
        let family = match md.str("general.architecture")? {
            "gemma3" => Family::Gemma3 {
                config: gemma3_config_from_metadata(md)
                    .with_context(|| in_file("not a Gemma 3 GGUF"))?,
                tokenizer: gemma3::tokenizer_metadata(md)
                    .with_context(|| in_file("tokenizer metadata"))?,
            },
            _ => Family::Llama {
                config: config_from_metadata(md).with_context(|| in_file("not a Llama GGUF"))?,
                vocab: vocab_from_metadata(md).with_context(|| in_file("tokenizer metadata"))?,
            },
        };
        let entries = file
            .tensors()
            .iter()
            .map(|t| TensorEntry {
                name: t.name.clone(),
                dims: t.dims.clone(),
            })
            .collect();
        Ok(Self {
            family,
            entries,
            base: Base::Gguf(file),
            adapter: None,
            origin: path.to_path_buf(),
        })
    }

    /// A base model: a GGUF file (by extension) or a HF folder.
    pub fn base(base: &Path, tokenizer_dir: &Path) -> Result<Self> {
        if is_gguf(base) {
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

    /// The GGUF metadata of this model, named `name`, at `file_type`.
    pub fn metadata(&self, name: &str, file_type: FileType) -> Metadata {
        match &self.family {
            Family::Llama { config, vocab } => {
                llama_metadata(config, name, file_type, vocab.clone())
            }
            Family::Gemma3 { config, tokenizer } => {
                gemma3::gemma3_metadata(config, name, file_type, tokenizer)
            }
        }
    }

    /// Writes the model to `path` (atomically) with `metadata` (from
    /// [`Self::metadata`], possibly stamped): every tensor loaded (adapter merged) and
    /// quantized to the type llama-quantize's recipe picks for `file_type`, in
    /// llama.cpp's tensor order; progress in tensors.
    pub fn write(
        &self,
        path: &Path,
        metadata: Metadata,
        file_type: FileType,
        progress: &dyn Progress,
    ) -> Result<()> {
        write_llama_gguf(
            path,
            metadata,
            &self.entries,
            file_type,
            |i, rows| self.load(i, rows),
            progress,
        )
    }

    /// Rows `rows` of tensor `i` of [`ModelSource::entries`] in f32, with the
    /// adapter's update merged (in HF row order, before llama.cpp's row permutation of
    /// a Llama, which needs whole heads; before the +1 of a Gemma 3 HF norm weight).
    pub fn load(&self, i: usize, rows: Range<usize>) -> Result<Vec<f32>> {
        let entry = &self.entries[i];
        let cols = entry.cols();
        let hf = self.family.hf_name(&entry.name);
        let heads = match &self.family {
            Family::Llama { config, .. } => hf
                .as_deref()
                .and_then(|n| permuted_heads(n, config.heads, config.kv_heads)),
            Family::Gemma3 { .. } => None,
        };
        let head_rows = heads.map(|h| entry.rows() / h);
        if let Some(n) = head_rows {
            ensure!(
                rows.start.is_multiple_of(n) && rows.len().is_multiple_of(n),
                "{}: rows {rows:?} split an attention head of {n} rows",
                entry.name
            );
        }
        let permute = |data: Vec<f32>| -> Result<Vec<f32>> {
            match head_rows {
                Some(n) => Ok(permute_for_gguf(&data, cols, rows.len() / n)?),
                None => Ok(data),
            }
        };
        let delta = match (&self.adapter, &hf) {
            (Some(a), Some(name)) => a.delta(name, entry.rows(), cols, rows.clone())?,
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
                let mut data = weights.f32_rows(&name, rows.clone())?;
                if let Some(d) = delta {
                    add(&mut data, &d);
                }
                if matches!(self.family, Family::Gemma3 { .. }) && is_shifted_norm(&entry.name) {
                    data.iter_mut().for_each(|w| *w += NORM_SHIFT);
                }
                permute(data)
            }
            Base::Gguf(file) => {
                let info = &file.tensors()[i];
                let codec =
                    QuantType::from_ggml_type_id(info.ggml_type as u32).ok_or_else(|| {
                        anyhow!("{}: no codec for {}", info.name, info.ggml_type.name())
                    })?;
                let stored = file.tensor_data(info);
                let row_bytes = stored.len() / entry.rows().max(1);
                let mut data = vec![0f32; rows.len() * cols];
                dequantize_tensor_into(
                    codec,
                    &stored[rows.start * row_bytes..rows.end * row_bytes],
                    cols,
                    &mut data,
                )
                .with_context(|| format!("dequantizing {}", info.name))?;
                if let Some(d) = delta {
                    add(&mut data, &permute(d)?);
                }
                Ok(data)
            }
        }
    }

    /// The adapter merged as the weights load, if any.
    pub fn adapter(&self) -> Option<&LoraAdapter> {
        self.adapter.as_ref()
    }

    /// True when the base is a GGUF file (the engine can run it as it is).
    pub fn base_is_gguf(&self) -> bool {
        matches!(self.base, Base::Gguf(_))
    }

    /// How many base weights the adapter changes (0 without one).
    pub fn merged_modules(&self) -> usize {
        self.adapter.as_ref().map_or(0, |a| a.module_count())
    }
}

/// True when `path` has the extension `.gguf` (any case).
fn is_gguf(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
}

/// The GGUF entries of a HF folder's tensors, named for `family` (a tensor of
/// another architecture is an error naming it).
fn hf_entries(
    family: &Family,
    dir: &Path,
    weights: &SafetensorsWeights,
) -> Result<Vec<TensorEntry>> {
    weights
        .shapes()
        .map(|(name, shape)| {
            let gguf = family.gguf_name(name).ok_or_else(|| {
                InputError::file(
                    dir,
                    format!(
                        "tensor `{name}` is not part of a {} model",
                        family.architecture()
                    ),
                )
            })?;
            Ok(TensorEntry {
                name: gguf,
                dims: shape.iter().rev().map(|&d| d as u64).collect(),
            })
        })
        .collect()
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
