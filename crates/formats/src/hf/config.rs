//! A Hugging Face Llama `config.json` ([`HfConfig`], the file's contents), and its one
//! conversion each way to the model shape GGUF metadata holds
//! ([`crate::llama_config::LlamaConfig`]).

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::llama_config::LlamaConfig;

/// Llama 3 `rope_scaling` of type `llama3` (Llama 3.1+).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RopeScaling {
    /// Must be `llama3`.
    #[serde(alias = "type")]
    pub rope_type: String,
    /// Context extension factor.
    pub factor: f64,
    /// Low-frequency factor.
    pub low_freq_factor: f64,
    /// High-frequency factor.
    pub high_freq_factor: f64,
    /// The pre-training context length.
    pub original_max_position_embeddings: f64,
}

/// transformers 5's `rope_parameters` (theta and scaling in one object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RopeParameters {
    /// RoPE base.
    #[serde(default)]
    pub rope_theta: Option<f64>,
    /// `default` or `llama3`.
    #[serde(default)]
    pub rope_type: Option<String>,
    /// `llama3` context extension factor.
    #[serde(default)]
    pub factor: Option<f64>,
    /// `llama3` low-frequency factor.
    #[serde(default)]
    pub low_freq_factor: Option<f64>,
    /// `llama3` high-frequency factor.
    #[serde(default)]
    pub high_freq_factor: Option<f64>,
    /// `llama3` pre-training context length.
    #[serde(default)]
    pub original_max_position_embeddings: Option<f64>,
}

/// The fields of a Llama `config.json` the trainer uses (transformers 4 and 5 layouts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HfConfig {
    /// Vocabulary size (rows of the embedding).
    pub vocab_size: i64,
    /// Model width.
    pub hidden_size: i64,
    /// MLP width.
    pub intermediate_size: i64,
    /// Decoder layers.
    pub num_hidden_layers: i64,
    /// Query heads.
    pub num_attention_heads: i64,
    /// Key/value heads (grouped-query attention).
    #[serde(default)]
    pub num_key_value_heads: Option<i64>,
    /// Per-head width (defaults to hidden / heads).
    #[serde(default)]
    pub head_dim: Option<i64>,
    /// RMSNorm epsilon.
    #[serde(default = "default_eps")]
    pub rms_norm_eps: f64,
    /// RoPE base.
    #[serde(default = "default_theta")]
    pub rope_theta: f64,
    /// Llama 3.1-style RoPE scaling, when present (transformers 4 layout).
    #[serde(default)]
    pub rope_scaling: Option<RopeScaling>,
    /// RoPE theta and scaling (transformers 5 layout; wins over the fields above).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_parameters: Option<RopeParameters>,
    /// Longest supported position.
    #[serde(default = "default_max_pos")]
    pub max_position_embeddings: i64,
    /// Whether the LM head shares the embedding matrix.
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// Architecture list (`LlamaForCausalLM`).
    #[serde(default = "default_arch")]
    pub architectures: Vec<String>,
    /// Model type (`llama`).
    #[serde(default = "default_model_type")]
    pub model_type: String,
}

fn default_eps() -> f64 {
    1e-5
}
fn default_theta() -> f64 {
    10_000.0
}
fn default_max_pos() -> i64 {
    8192
}
fn default_arch() -> Vec<String> {
    vec!["LlamaForCausalLM".into()]
}
fn default_model_type() -> String {
    "llama".into()
}

impl HfConfig {
    /// Read and check `config.json`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| InputError::file(path, format!("cannot read: {e}")))?;
        let cfg: Self = serde_json::from_str(&text).map_err(|e| {
            InputError::at(path, e.line(), None, format!("not a Llama config: {e}"))
        })?;
        cfg.validate().map_err(|m| InputError::file(path, m))?;
        Ok(cfg)
    }

    /// Check that the shapes fit together.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let positive = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("num_key_value_heads", self.kv_heads()),
            ("head_dim", self.head_dim()),
        ];
        if let Some((name, v)) = positive.iter().find(|(_, v)| *v <= 0) {
            return Err(format!("field `{name}` must be positive, got {v}"));
        }
        if self.num_attention_heads % self.kv_heads() != 0 {
            return Err("field `num_key_value_heads` must divide `num_attention_heads`".into());
        }
        if self.head_dim() % 2 != 0 {
            return Err("the head width must be even for RoPE".into());
        }
        if let Some(s) = &self.rope_scaling {
            if s.rope_type != "llama3" && s.rope_type != "default" {
                return Err(format!(
                    "field `rope_scaling.rope_type`: only `default` and `llama3` are supported, got `{}`",
                    s.rope_type
                ));
            }
        }
        if let Some(p) = &self.rope_parameters {
            let complete = p.factor.is_some()
                && p.low_freq_factor.is_some()
                && p.high_freq_factor.is_some()
                && p.original_max_position_embeddings.is_some();
            match p.rope_type.as_deref() {
                None | Some("default") => {}
                Some("llama3") if complete => {}
                Some(other) => {
                    return Err(format!(
                        "field `rope_parameters.rope_type`: only `default` and complete `llama3` are supported, got `{other}`"
                    ))
                }
            }
        }
        Ok(())
    }

    /// The RoPE base (from `rope_parameters` when present).
    pub fn theta(&self) -> f64 {
        self.rope_parameters
            .as_ref()
            .and_then(|p| p.rope_theta)
            .unwrap_or(self.rope_theta)
    }

    /// The `llama3` RoPE scaling in force, if any.
    pub fn scaling(&self) -> Option<RopeScaling> {
        if let Some(p) = &self.rope_parameters {
            return match (
                p.rope_type.as_deref(),
                p.factor,
                p.low_freq_factor,
                p.high_freq_factor,
                p.original_max_position_embeddings,
            ) {
                (Some("llama3"), Some(factor), Some(low), Some(high), Some(orig)) => {
                    Some(RopeScaling {
                        rope_type: "llama3".into(),
                        factor,
                        low_freq_factor: low,
                        high_freq_factor: high,
                        original_max_position_embeddings: orig,
                    })
                }
                _ => None,
            };
        }
        self.rope_scaling
            .clone()
            .filter(|s| s.rope_type == "llama3")
    }

    /// Key/value heads.
    pub fn kv_heads(&self) -> i64 {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    /// Per-head width.
    pub fn head_dim(&self) -> i64 {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    /// The model shape as GGUF `llama.*` metadata holds it, checked. The `llama3` RoPE
    /// scaling is not part of it (a GGUF carries it as the `rope_freqs.weight` tensor).
    pub fn llama_config(&self) -> Result<LlamaConfig> {
        let config = LlamaConfig {
            vocab: self.vocab_size as usize,
            dim: self.hidden_size as usize,
            layers: self.num_hidden_layers as usize,
            heads: self.num_attention_heads as usize,
            kv_heads: self.kv_heads() as usize,
            ff: self.intermediate_size as usize,
            context: self.max_position_embeddings as usize,
            rope_theta: self.theta() as f32,
            rope_dims: self.head_dim() as usize,
            rms_eps: self.rms_norm_eps as f32,
        };
        config.validate()?;
        Ok(config)
    }

    /// The `config.json` of a model of shape `config` (the inverse of
    /// [`Self::llama_config`], without RoPE scaling), checked; `tie_word_embeddings`
    /// when the LM head shares the embedding. Partial RoPE (fewer rotated dimensions
    /// than the head width) has no `config.json` field and is refused.
    pub fn from_llama_config(config: &LlamaConfig, tie_word_embeddings: bool) -> Result<Self> {
        anyhow::ensure!(
            config.rope_dims == config.head_dim(),
            "llama.rope.dimension_count is {} but heads are {} wide; partial RoPE is not supported",
            config.rope_dims,
            config.head_dim()
        );
        let hf = Self {
            vocab_size: config.vocab as i64,
            hidden_size: config.dim as i64,
            intermediate_size: config.ff as i64,
            num_hidden_layers: config.layers as i64,
            num_attention_heads: config.heads as i64,
            num_key_value_heads: Some(config.kv_heads as i64),
            head_dim: Some(config.head_dim() as i64),
            rms_norm_eps: widen(config.rms_eps),
            rope_theta: widen(config.rope_theta),
            rope_scaling: None,
            rope_parameters: None,
            max_position_embeddings: config.context as i64,
            tie_word_embeddings,
            architectures: default_arch(),
            model_type: default_model_type(),
        };
        hf.validate().map_err(anyhow::Error::msg)?;
        Ok(hf)
    }
}

/// An f32 value as the shortest decimal that reads back to it, widened (so `1e-5`
/// stored as f32 becomes the f64 `1e-5` a `config.json` would hold).
fn widen(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(v as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_llama3_config_and_rejects_bad_shapes() {
        let json = r#"{"vocab_size":128256,"hidden_size":4096,"intermediate_size":14336,
            "num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,
            "rms_norm_eps":1e-5,"rope_theta":500000.0,"max_position_embeddings":8192,
            "tie_word_embeddings":false,"torch_dtype":"bfloat16"}"#;
        let cfg: HfConfig = serde_json::from_str(json).unwrap();
        assert_eq!(cfg.validate(), Ok(()));
        assert_eq!(cfg.head_dim(), 128);
        assert_eq!(cfg.kv_heads(), 8);
        assert_eq!(cfg.theta(), 500000.0);
        let v5 = r#"{"vocab_size":8,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,
            "num_attention_heads":2,"rope_parameters":{"rope_theta":500000.0,"rope_type":"llama3",
            "factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,
            "original_max_position_embeddings":8192}}"#;
        let v5: HfConfig = serde_json::from_str(v5).unwrap();
        assert_eq!(v5.validate(), Ok(()));
        assert_eq!(v5.theta(), 500000.0);
        assert_eq!(v5.scaling().unwrap().factor, 8.0);
        let bad = HfConfig {
            num_key_value_heads: Some(5),
            ..cfg
        };
        assert!(bad.validate().unwrap_err().contains("num_key_value_heads"));
    }

    #[test]
    fn converts_to_the_gguf_shape_and_back() {
        let json = r#"{"vocab_size":128256,"hidden_size":4096,"intermediate_size":14336,
            "num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,
            "rms_norm_eps":1e-5,"rope_theta":500000.0,"max_position_embeddings":8192}"#;
        let hf: HfConfig = serde_json::from_str(json).unwrap();
        let shape = hf.llama_config().unwrap();
        assert_eq!(
            shape,
            LlamaConfig {
                vocab: 128256,
                dim: 4096,
                layers: 32,
                heads: 32,
                kv_heads: 8,
                ff: 14336,
                context: 8192,
                rope_theta: 500000.0,
                rope_dims: 128,
                rms_eps: 1e-5,
            }
        );
        let back = HfConfig::from_llama_config(&shape, false).unwrap();
        assert_eq!(back.rms_norm_eps, 1e-5);
        assert_eq!(back.rope_theta, 500000.0);
        assert_eq!(back.head_dim, Some(128));
        assert_eq!(back.llama_config().unwrap(), shape);
        let partial = LlamaConfig {
            rope_dims: 64,
            ..shape
        };
        let err = HfConfig::from_llama_config(&partial, false).unwrap_err();
        assert!(err.to_string().contains("partial RoPE"), "{err}");
    }
}
