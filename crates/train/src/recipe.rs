//! The training recipe: a TOML file (`train.toml`) whose every field can be
//! overridden by a command-line flag of the same name; unset fields take the
//! seed recipe's values (micro-batch 2 × accumulation 8, 3 epochs, lr 2e-4 with
//! warmup + cosine, weight decay 0.01, max grad norm 0.3, LoRA r 16 / alpha 32 /
//! dropout 0.05 on the seven projections, bf16, or f16 with loss scaling on a GPU
//! without bf16 such as the seed's T4, paged 8-bit AdamW, gradient
//! checkpointing, a checkpoint every 100 steps, the last 3 kept).

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::lora::{LoraSettings, LLAMA_TARGETS};
use super::model::Method;
use super::optim::OptimizerKind;
use okla_formats::error::InputError;

/// Every recipe field, optional: what a TOML file or the flags set.
#[derive(Debug, Clone, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct RecipeFields {
    /// Base model: a Hugging Face folder (config.json, *.safetensors, tokenizer.json)
    /// or a llama.cpp `.gguf` file (dequantized to f32; tokenizer from its metadata).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Start from seeded random weights (HF's initialisation of a fresh model) instead
    /// of the folder's weights; the folder then needs only config.json and the
    /// tokenizer. Only with `method = full`.
    #[arg(long)]
    pub from_scratch: Option<bool>,
    /// Training conversations (JSONL, `{"messages": [...]}` per line).
    #[arg(long)]
    pub train_file: Option<PathBuf>,
    /// Evaluation conversations (JSONL).
    #[arg(long)]
    pub eval_file: Option<PathBuf>,
    /// Run folder (checkpoints, metrics, curves, final adapter).
    #[arg(long)]
    pub output_dir: Option<PathBuf>,
    /// qlora (NF4 base + LoRA), lora (16-bit base + LoRA) or full.
    #[arg(long, value_enum)]
    pub method: Option<Method>,
    /// LoRA rank.
    #[arg(long)]
    pub lora_r: Option<i64>,
    /// LoRA alpha (the update is scaled by alpha / r).
    #[arg(long)]
    pub lora_alpha: Option<f64>,
    /// LoRA dropout probability.
    #[arg(long)]
    pub lora_dropout: Option<f64>,
    /// Projections with adapters (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub lora_targets: Option<Vec<String>>,
    /// Sequences per micro-batch.
    #[arg(long)]
    pub micro_batch_size: Option<usize>,
    /// Micro-batches per optimizer step.
    #[arg(long)]
    pub grad_accum: Option<usize>,
    /// Passes over the training set.
    #[arg(long)]
    pub epochs: Option<u64>,
    /// Stop after this many optimizer steps (overrides epochs for the schedule).
    #[arg(long)]
    pub max_steps: Option<u64>,
    /// Peak learning rate.
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// Fraction of steps spent warming up.
    #[arg(long)]
    pub warmup_ratio: Option<f64>,
    /// AdamW decoupled weight decay.
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Gradient-norm clipping threshold.
    #[arg(long)]
    pub max_grad_norm: Option<f64>,
    /// Compute dtype: auto (bf16, or f16 with loss scaling on a GPU without bf16
    /// such as a T4: [`super::gpu`]), bf16, f16 or f32.
    #[arg(long)]
    pub dtype: Option<String>,
    /// adamw (f32 states) or adamw8bit.
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerKind>,
    /// Keep 8-bit optimizer states in pinned CPU memory between steps (GPU only).
    #[arg(long)]
    pub page_optimizer: Option<bool>,
    /// Recompute each decoder layer in the backward pass.
    #[arg(long)]
    pub gradient_checkpointing: Option<bool>,
    /// Evaluate every N optimizer steps (0 = only at the end).
    #[arg(long)]
    pub eval_every: Option<u64>,
    /// Checkpoint every N optimizer steps.
    #[arg(long)]
    pub save_every: Option<u64>,
    /// Checkpoints kept.
    #[arg(long)]
    pub keep_checkpoints: Option<usize>,
    /// Longest sequence in tokens (default: the training set's P95).
    #[arg(long)]
    pub max_seq_len: Option<usize>,
    /// Seed of initialisation, data order and dropout.
    #[arg(long)]
    pub seed: Option<u64>,
    /// auto, cpu or cuda.
    #[arg(long)]
    pub device: Option<String>,
    /// full (the training loss's softmax over the whole vocabulary) or corpus (over
    /// the tokens the training split shows).
    #[arg(long, value_enum)]
    pub loss_vocabulary: Option<LossVocabulary>,
    /// Group micro-batches by length (true, the default: less padding) or draw them
    /// plainly from the shuffled order (false: every micro-batch a random sample).
    #[arg(long)]
    pub group_by_length: Option<bool>,
}

/// Which tokens the training loss's softmax runs over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LossVocabulary {
    /// The whole vocabulary (what HF's Trainer does).
    #[default]
    Full,
    /// The tokens the training split shows, plus one constant zero logit; the
    /// head's other rows take no part (and are zeroed when training from scratch,
    /// so that at inference those tokens sit at that zero level). Evaluation keeps
    /// the full softmax. A width-64 Llama trained from scratch with Llama 3's
    /// 128,256 tokens in the softmax never learned in-context copying; with the
    /// corpus's tokens only, the same shape learned it (models/okla-tiny/README.md).
    Corpus,
}

macro_rules! overlay {
    ($base:expr, $top:expr; $($f:ident),*) => {
        RecipeFields { $($f: $top.$f.or($base.$f)),* }
    };
}

impl RecipeFields {
    /// Read a TOML recipe (unknown fields are errors).
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| InputError::file(path, format!("cannot read: {e}")))?;
        toml::from_str(&text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start].matches('\n').count() + 1);
            match line {
                Some(l) => InputError::at(path, l, None, e.message().to_string()).into(),
                None => InputError::file(path, e.message().to_string()).into(),
            }
        })
    }

    /// `self` with every field `top` sets replaced by `top`'s value.
    pub fn overlay(self, top: RecipeFields) -> RecipeFields {
        overlay!(self, top; model, from_scratch, train_file, eval_file, output_dir, method, lora_r, lora_alpha,
            lora_dropout, lora_targets, micro_batch_size, grad_accum, epochs, max_steps,
            learning_rate, warmup_ratio, weight_decay, max_grad_norm, dtype, optimizer,
            page_optimizer, gradient_checkpointing, eval_every, save_every, keep_checkpoints,
            max_seq_len, seed, device, loss_vocabulary, group_by_length)
    }
}

/// The effective recipe (every field resolved).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recipe {
    /// Base model folder or `.gguf` file (None: the caller supplies the model, e.g. tests).
    pub model: Option<PathBuf>,
    /// Random initial weights instead of the model folder's.
    pub from_scratch: bool,
    /// Training JSONL.
    pub train_file: Option<PathBuf>,
    /// Evaluation JSONL.
    pub eval_file: Option<PathBuf>,
    /// Run folder.
    pub output_dir: PathBuf,
    /// Training method.
    pub method: Method,
    /// LoRA settings.
    pub lora: LoraSettings,
    /// Sequences per micro-batch.
    pub micro_batch_size: usize,
    /// Micro-batches per optimizer step.
    pub grad_accum: usize,
    /// Epochs.
    pub epochs: u64,
    /// Optimizer steps cap.
    pub max_steps: Option<u64>,
    /// Peak learning rate.
    pub learning_rate: f64,
    /// Warmup fraction.
    pub warmup_ratio: f64,
    /// Weight decay.
    pub weight_decay: f64,
    /// Clipping threshold.
    pub max_grad_norm: f64,
    /// `bf16` or `f32`.
    pub dtype: String,
    /// Optimizer.
    pub optimizer: OptimizerKind,
    /// Page 8-bit states to pinned host memory.
    pub page_optimizer: bool,
    /// Layer-wise recomputation.
    pub gradient_checkpointing: bool,
    /// Evaluation period (0 = at the end only).
    pub eval_every: u64,
    /// Checkpoint period.
    pub save_every: u64,
    /// Checkpoints kept.
    pub keep_checkpoints: usize,
    /// Sequence cap (None: P95 of the training set).
    pub max_seq_len: Option<usize>,
    /// Seed.
    pub seed: u64,
    /// `auto`, `cpu` or `cuda`.
    pub device: String,
    /// The training loss's vocabulary (absent in recipes written before it existed).
    #[serde(default)]
    pub loss_vocabulary: LossVocabulary,
    /// Micro-batches grouped by length (absent in recipes written before it existed:
    /// they were all grouped).
    #[serde(default = "grouped_by_default")]
    pub group_by_length: bool,
}

/// Runs recorded before `group_by_length` existed grouped their micro-batches.
fn grouped_by_default() -> bool {
    true
}

impl Recipe {
    /// Resolve fields over the seed recipe's defaults and check them; `origin`
    /// names the config file in errors (exit code 2).
    pub fn resolve(f: RecipeFields, origin: Option<&Path>) -> Result<Self> {
        let bad = |field: &str, msg: String| -> anyhow::Error {
            let e = match origin {
                Some(p) => InputError::file(p, msg),
                None => InputError::usage(msg),
            };
            e.with_field(field).into()
        };
        let lora = LoraSettings {
            r: f.lora_r.unwrap_or(16),
            alpha: f.lora_alpha.unwrap_or(32.0),
            dropout: f.lora_dropout.unwrap_or(0.05),
            targets: f
                .lora_targets
                .unwrap_or_else(|| LLAMA_TARGETS.iter().map(|s| s.to_string()).collect()),
        };
        let mut r = Recipe {
            model: f.model,
            from_scratch: f.from_scratch.unwrap_or(false),
            train_file: f.train_file,
            eval_file: f.eval_file,
            output_dir: f.output_dir.unwrap_or_else(|| PathBuf::from("runs/train")),
            method: f.method.unwrap_or(Method::Qlora),
            lora,
            micro_batch_size: f.micro_batch_size.unwrap_or(2),
            grad_accum: f.grad_accum.unwrap_or(8),
            epochs: f.epochs.unwrap_or(3),
            max_steps: f.max_steps,
            learning_rate: f.learning_rate.unwrap_or(2e-4),
            warmup_ratio: f.warmup_ratio.unwrap_or(0.03),
            weight_decay: f.weight_decay.unwrap_or(0.01),
            max_grad_norm: f.max_grad_norm.unwrap_or(0.3),
            dtype: f.dtype.unwrap_or_else(|| "auto".into()),
            optimizer: f.optimizer.unwrap_or(OptimizerKind::Adamw8bit),
            page_optimizer: f.page_optimizer.unwrap_or(true),
            gradient_checkpointing: f.gradient_checkpointing.unwrap_or(true),
            eval_every: f.eval_every.unwrap_or(50),
            save_every: f.save_every.unwrap_or(100),
            keep_checkpoints: f.keep_checkpoints.unwrap_or(3),
            max_seq_len: f.max_seq_len,
            seed: f.seed.unwrap_or(42),
            device: f.device.unwrap_or_else(|| "auto".into()),
            loss_vocabulary: f.loss_vocabulary.unwrap_or_default(),
            group_by_length: f.group_by_length.unwrap_or_else(grouped_by_default),
        };
        if r.from_scratch && r.method != Method::Full {
            return Err(bad(
                "from_scratch",
                format!(
                    "random initial weights need method = full, not {:?}",
                    r.method
                ),
            ));
        }
        if r.lora.r <= 0 {
            return Err(bad("lora_r", format!("must be positive, got {}", r.lora.r)));
        }
        if !(0.0..1.0).contains(&r.lora.dropout) {
            return Err(bad(
                "lora_dropout",
                format!("must be in [0, 1), got {}", r.lora.dropout),
            ));
        }
        if let Some(t) = r
            .lora
            .targets
            .iter()
            .find(|t| !LLAMA_TARGETS.contains(&t.as_str()))
        {
            return Err(bad(
                "lora_targets",
                format!("unknown module `{t}` (known: {})", LLAMA_TARGETS.join(", ")),
            ));
        }
        for (field, v) in [
            ("micro_batch_size", r.micro_batch_size),
            ("grad_accum", r.grad_accum),
            ("keep_checkpoints", r.keep_checkpoints),
        ] {
            if v == 0 {
                return Err(bad(field, "must be at least 1".into()));
            }
        }
        if r.epochs == 0 && r.max_steps.is_none() {
            return Err(bad("epochs", "must be at least 1".into()));
        }
        if r.save_every == 0 {
            return Err(bad("save_every", "must be at least 1".into()));
        }
        if !(r.learning_rate > 0.0 && r.learning_rate.is_finite()) {
            return Err(bad(
                "learning_rate",
                format!("must be a positive number, got {}", r.learning_rate),
            ));
        }
        if !(0.0..=1.0).contains(&r.warmup_ratio) {
            return Err(bad(
                "warmup_ratio",
                format!("must be in [0, 1], got {}", r.warmup_ratio),
            ));
        }
        if r.weight_decay < 0.0 || r.max_grad_norm <= 0.0 {
            return Err(bad(
                "weight_decay",
                "weight_decay must be ≥ 0 and max_grad_norm > 0".into(),
            ));
        }
        if !["auto", "bf16", "f16", "f32"].contains(&r.dtype.as_str()) {
            return Err(bad(
                "dtype",
                format!("must be auto, bf16, f16 or f32, got `{}`", r.dtype),
            ));
        }
        if !["auto", "cpu", "cuda"].contains(&r.device.as_str()) {
            return Err(bad(
                "device",
                format!("must be auto, cpu or cuda, got `{}`", r.device),
            ));
        }
        if r.max_seq_len == Some(0) {
            return Err(bad("max_seq_len", "must be at least 2".into()));
        }
        if r.dtype == "auto" {
            // recorded resolved, so recipe.json says what ran
            let gpu = match r.device.as_str() {
                "cpu" => None,
                _ => super::gpu::compute_capability_major(),
            };
            r.dtype = super::gpu::auto_dtype(gpu).to_string();
        }
        Ok(r)
    }

    /// The compute dtype.
    pub fn kind(&self) -> tch::Kind {
        match self.dtype.as_str() {
            "f32" => tch::Kind::Float,
            "f16" => tch::Kind::Half,
            _ => tch::Kind::BFloat16,
        }
    }

    /// The device to train on.
    pub fn device(&self) -> tch::Device {
        match self.device.as_str() {
            "cpu" => tch::Device::Cpu,
            "cuda" => tch::Device::Cuda(0),
            _ => tch::Device::cuda_if_available(),
        }
    }

    /// A hash of everything that changes the numbers (not the output folder),
    /// checked when resuming.
    pub fn numeric_hash(&self) -> String {
        let mut copy = self.clone();
        copy.output_dir = PathBuf::new();
        let bytes = serde_json::to_vec(&copy).unwrap_or_default();
        format!("{:x}", Sha256::digest(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_seed_recipe_and_flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train.toml");
        std::fs::write(&path, "epochs = 1\nlearning_rate = 1e-4\nlora_r = 8\n").unwrap();
        let file = RecipeFields::from_toml_file(&path).unwrap();
        let flags = RecipeFields {
            lora_r: Some(4),
            ..Default::default()
        };
        let r = Recipe::resolve(file.overlay(flags), Some(&path)).unwrap();
        assert_eq!((r.epochs, r.learning_rate, r.lora.r), (1, 1e-4, 4));
        assert_eq!(
            (r.micro_batch_size, r.grad_accum, r.max_grad_norm),
            (2, 8, 0.3)
        );
        assert_eq!(
            (r.lora.alpha, r.weight_decay, r.method),
            (32.0, 0.01, Method::Qlora)
        );
        assert_eq!(r.lora.targets.len(), 7);
        assert!(r.group_by_length);
        assert!(["bf16", "f16"].contains(&r.dtype.as_str()), "{}", r.dtype);
    }

    #[test]
    fn a_recipe_recorded_before_group_by_length_reads_as_grouped() {
        let r = Recipe::resolve(
            RecipeFields {
                group_by_length: Some(false),
                ..Default::default()
            },
            None,
        )
        .unwrap();
        assert!(!r.group_by_length);
        let mut recorded = serde_json::to_value(&r).unwrap();
        recorded.as_object_mut().unwrap().remove("group_by_length");
        let old: Recipe = serde_json::from_value(recorded).unwrap();
        assert!(old.group_by_length);
    }

    #[test]
    fn bad_configs_are_input_errors_naming_file_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train.toml");
        std::fs::write(&path, "epochs = 1\nlearnin_rate = 1e-4\n").unwrap();
        let err = RecipeFields::from_toml_file(&path).unwrap_err();
        let ie = err.downcast_ref::<InputError>().unwrap();
        assert_eq!(ie.line, Some(2));
        std::fs::write(&path, "lora_targets = [\"q_proj\", \"qkv\"]\n").unwrap();
        let f = RecipeFields::from_toml_file(&path).unwrap();
        let err = Recipe::resolve(f, Some(&path)).unwrap_err();
        let ie = err.downcast_ref::<InputError>().unwrap();
        assert_eq!(ie.field.as_deref(), Some("lora_targets"));
        assert!(ie.message.contains("qkv"));
    }
}
