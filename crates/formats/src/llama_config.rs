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

    /// Checks the shape is internally consistent.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.vocab > 0 && self.dim > 0 && self.layers > 0,
            "empty model shape: {self:?}"
        );
        ensure!(
            self.heads > 0 && self.dim.is_multiple_of(self.heads),
            "embedding width {} is not a multiple of head count {}",
            self.dim,
            self.heads
        );
        ensure!(
            self.kv_heads > 0 && self.heads.is_multiple_of(self.kv_heads),
            "head count {} is not a multiple of key/value head count {}",
            self.heads,
            self.kv_heads
        );
        ensure!(
            self.rope_dims.is_multiple_of(2) && self.rope_dims <= self.head_dim(),
            "rope dimension count {} must be even and at most head width {}",
            self.rope_dims,
            self.head_dim()
        );
        ensure!(
            self.ff > 0 && self.context > 0,
            "empty feed-forward or context: {self:?}"
        );
        Ok(())
    }
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
