//! The Llama architecture hyper-parameters, read from (and written as) a Hugging
//! Face `config.json`.

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::error::InputError;

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

/// The fields of a Llama `config.json` the trainer uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlamaConfig {
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
    /// Llama 3.1-style RoPE scaling, when present.
    #[serde(default)]
    pub rope_scaling: Option<RopeScaling>,
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

impl LlamaConfig {
    /// Read and check `config.json`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| InputError::file(path, format!("cannot read: {e}")))?;
        let cfg: Self = serde_json::from_str(&text)
            .map_err(|e| InputError::at(path, e.line(), None, format!("not a Llama config: {e}")))?;
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
            if s.rope_type != "llama3" {
                return Err(format!("field `rope_scaling.rope_type`: only `llama3` is supported, got `{}`", s.rope_type));
            }
        }
        Ok(())
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
        let cfg: LlamaConfig = serde_json::from_str(json).unwrap();
        assert_eq!(cfg.validate(), Ok(()));
        assert_eq!(cfg.head_dim(), 128);
        assert_eq!(cfg.kv_heads(), 8);
        let bad = LlamaConfig {
            num_key_value_heads: Some(5),
            ..cfg
        };
        assert!(bad.validate().unwrap_err().contains("num_key_value_heads"));
    }
}
