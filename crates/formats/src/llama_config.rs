//! Llama hyper-parameters, as llama.cpp reads them from `llama.*` GGUF metadata.

use anyhow::{bail, ensure, Result};

use crate::gguf::Metadata;

/// The shape and constants of a Llama model.
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    /// Vocabulary size (rows of `token_embd`).
    pub vocab: usize,
    /// Embedding width (`llama.embedding_length`).
    pub dim: usize,
    /// Transformer blocks (`llama.block_count`).
    pub layers: usize,
    /// Query heads (`llama.attention.head_count`).
    pub heads: usize,
    /// Key/value heads (`llama.attention.head_count_kv`); grouped-query attention when fewer.
    pub kv_heads: usize,
    /// Hidden width of the SwiGLU feed-forward (`llama.feed_forward_length`).
    pub ff: usize,
    /// Longest supported sequence (`llama.context_length`).
    pub context: usize,
    /// RoPE base frequency (`llama.rope.freq_base`; 500000 for Llama 3).
    pub rope_theta: f32,
    /// Rotated dimensions per head (`llama.rope.dimension_count`, default head_dim).
    pub rope_dims: usize,
    /// RMSNorm epsilon (`llama.attention.layer_norm_rms_epsilon`).
    pub rms_eps: f32,
}

impl LlamaConfig {
    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.dim / self.heads
    }

    /// Width of the key (or value) projection: `kv_heads × head_dim`.
    pub fn kv_dim(&self) -> usize {
        self.kv_heads * self.head_dim()
    }

    /// Checks the shape is internally consistent and every constant usable: a zero
    /// width, a NaN epsilon or a RoPE that rotates nothing would run and write garbage.
    pub fn validate(&self) -> Result<(), BadParameter> {
        let check = |ok: bool, key: &'static str, message: String| {
            if ok {
                Ok(())
            } else {
                Err(BadParameter { key, message })
            }
        };
        check(
            self.vocab > 0,
            "llama.vocab_size",
            "the vocabulary is empty".into(),
        )?;
        check(
            self.dim > 0,
            "llama.embedding_length",
            "must be at least 1".into(),
        )?;
        check(
            self.layers > 0,
            "llama.block_count",
            "must be at least 1".into(),
        )?;
        check(
            self.heads > 0 && self.dim.is_multiple_of(self.heads),
            "llama.attention.head_count",
            format!(
                "{} must be at least 1 and divide the embedding width {}",
                self.heads, self.dim
            ),
        )?;
        check(
            self.kv_heads > 0 && self.heads.is_multiple_of(self.kv_heads),
            "llama.attention.head_count_kv",
            format!(
                "{} must be at least 1 and divide the head count {}",
                self.kv_heads, self.heads
            ),
        )?;
        check(
            self.rope_dims > 0
                && self.rope_dims.is_multiple_of(2)
                && self.rope_dims <= self.head_dim(),
            "llama.rope.dimension_count",
            format!(
                "{} must be even, at least 2 and at most the head width {}",
                self.rope_dims,
                self.head_dim()
            ),
        )?;
        check(
            self.ff > 0,
            "llama.feed_forward_length",
            "must be at least 1".into(),
        )?;
        check(
            self.context > 0,
            "llama.context_length",
            "must be at least 1".into(),
        )?;
        check(
            self.rope_theta.is_finite() && self.rope_theta > 0.0,
            "llama.rope.freq_base",
            format!("{} must be a positive number", self.rope_theta),
        )?;
        check(
            self.rms_eps.is_finite() && self.rms_eps > 0.0,
            "llama.attention.layer_norm_rms_epsilon",
            format!("{} must be a positive number", self.rms_eps),
        )
    }
}

/// A Llama hyper-parameter out of range, named by its `llama.*` GGUF metadata key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct BadParameter {
    /// The GGUF metadata key that holds the parameter.
    pub key: &'static str,
    /// What is wrong with its value.
    pub message: String,
}

/// The Llama hyper-parameters from `llama.*` metadata (defaults as llama.cpp's).
pub fn config_from_metadata(md: &Metadata) -> Result<LlamaConfig> {
    let arch = md.str("general.architecture")?;
    if arch != "llama" {
        bail!("general.architecture is {arch:?}; the engine runs only \"llama\" models");
    }
    let dim = md.u32("llama.embedding_length")? as usize;
    let heads = md.u32("llama.attention.head_count")? as usize;
    ensure!(heads > 0, "llama.attention.head_count is 0");
    let vocab = match md.u32("llama.vocab_size") {
        Ok(v) => v as usize,
        Err(_) => md.str_array("tokenizer.ggml.tokens")?.len(),
    };
    let config = LlamaConfig {
        vocab,
        dim,
        layers: md.u32("llama.block_count")? as usize,
        heads,
        kv_heads: md
            .u32("llama.attention.head_count_kv")
            .unwrap_or(heads as u32) as usize,
        ff: md.u32("llama.feed_forward_length")? as usize,
        context: md.u32("llama.context_length")? as usize,
        rope_theta: md.f32("llama.rope.freq_base").unwrap_or(10000.0),
        rope_dims: md
            .u32("llama.rope.dimension_count")
            .map_or(dim / heads, |d| d as usize),
        rms_eps: md.f32("llama.attention.layer_norm_rms_epsilon")?,
    };
    config.validate()?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> LlamaConfig {
        LlamaConfig {
            vocab: 256,
            dim: 64,
            layers: 2,
            heads: 4,
            kv_heads: 2,
            ff: 128,
            context: 512,
            rope_theta: 500_000.0,
            rope_dims: 16,
            rms_eps: 1e-5,
        }
    }

    #[test]
    fn a_consistent_shape_passes() {
        assert_eq!(shape().validate(), Ok(()));
    }

    #[test]
    fn unusable_constants_name_their_key() {
        let key = |config: LlamaConfig| config.validate().unwrap_err().key;
        for eps in [f32::NAN, f32::INFINITY, 0.0, -1e-5] {
            assert_eq!(
                key(LlamaConfig {
                    rms_eps: eps,
                    ..shape()
                }),
                "llama.attention.layer_norm_rms_epsilon"
            );
        }
        for dims in [0, 3, 18] {
            assert_eq!(
                key(LlamaConfig {
                    rope_dims: dims,
                    ..shape()
                }),
                "llama.rope.dimension_count"
            );
        }
        assert_eq!(
            key(LlamaConfig {
                rope_theta: f32::NAN,
                ..shape()
            }),
            "llama.rope.freq_base"
        );
        assert_eq!(
            key(LlamaConfig {
                kv_heads: 3,
                ..shape()
            }),
            "llama.attention.head_count_kv"
        );
    }
}
