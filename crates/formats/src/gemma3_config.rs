//! Gemma 3 hyper-parameters, as llama.cpp reads them from `gemma3.*` GGUF metadata
//! (its `llm_load_hparams` for `LLM_ARCH_GEMMA3`): interleaved sliding-window
//! attention with every `sliding_window_pattern`-th layer global, a RoPE base of its
//! own for the local layers, and a query scale fixed by the head width.

use anyhow::{bail, Result};

use crate::gguf::Metadata;
use crate::llama_config::BadParameter;

/// llama.cpp's RoPE base for Gemma 3's sliding-window layers (not in the metadata).
pub const LOCAL_ROPE_THETA: f32 = 10_000.0;
/// llama.cpp's Gemma 3 layer pattern: layers `5, 11, 17, …` attend globally.
pub const SLIDING_WINDOW_PATTERN: usize = 6;
/// Layer count of Gemma 3 27B, whose query scale follows `dim / heads` instead of the head width.
const LAYERS_27B: usize = 62;

/// The shape and constants of a Gemma 3 text model.
#[derive(Debug, Clone, PartialEq)]
pub struct Gemma3Config {
    /// Vocabulary size (rows of `token_embd`).
    pub vocab: usize,
    /// Embedding width (`gemma3.embedding_length`).
    pub dim: usize,
    /// Transformer blocks (`gemma3.block_count`).
    pub layers: usize,
    /// Query heads (`gemma3.attention.head_count`).
    pub heads: usize,
    /// Key/value heads (`gemma3.attention.head_count_kv`).
    pub kv_heads: usize,
    /// Width of one head (`gemma3.attention.key_length`; 256 for the small models).
    pub head_dim: usize,
    /// Hidden width of the GELU-gated feed-forward (`gemma3.feed_forward_length`).
    pub ff: usize,
    /// Longest supported sequence (`gemma3.context_length`).
    pub context: usize,
    /// RMSNorm epsilon (`gemma3.attention.layer_norm_rms_epsilon`).
    pub rms_eps: f32,
    /// RoPE base of the global layers (`gemma3.rope.freq_base`, 1e6).
    pub rope_theta: f32,
    /// RoPE position scale of the global layers (1 / `gemma3.rope.scaling.factor`).
    pub rope_scale: f32,
    /// RoPE base of the sliding-window layers ([`LOCAL_ROPE_THETA`]).
    pub rope_theta_local: f32,
    /// Positions a sliding-window layer sees, itself included (`gemma3.attention.sliding_window`).
    pub sliding_window: usize,
    /// Every `sliding_window_pattern`-th layer attends globally ([`SLIDING_WINDOW_PATTERN`]).
    pub sliding_window_pattern: usize,
    /// Factor applied to the queries before attention (`1/√head_dim`; `1/√(dim/heads)` at 27B).
    pub query_scale: f32,
}

impl Gemma3Config {
    /// True when layer `layer` attends only to the last [`Self::sliding_window`] positions.
    pub fn is_sliding(&self, layer: usize) -> bool {
        layer % self.sliding_window_pattern < self.sliding_window_pattern - 1
    }

    /// Width of the query projection: `heads × head_dim`.
    pub fn q_dim(&self) -> usize {
        self.heads * self.head_dim
    }

    /// Width of the key (or value) projection: `kv_heads × head_dim`.
    pub fn kv_dim(&self) -> usize {
        self.kv_heads * self.head_dim
    }

    /// The query scale llama.cpp derives from the shape.
    pub fn default_query_scale(layers: usize, dim: usize, heads: usize, head_dim: usize) -> f32 {
        if layers == LAYERS_27B {
            1.0 / ((dim / heads) as f32).sqrt()
        } else {
            1.0 / (head_dim as f32).sqrt()
        }
    }

    /// Checks the shape is consistent and every constant usable.
    pub fn validate(&self) -> Result<(), BadParameter> {
        let check = |ok: bool, key: &'static str, message: String| {
            if ok {
                Ok(())
            } else {
                Err(BadParameter { key, message })
            }
        };
        let positive = |v: f32| v.is_finite() && v > 0.0;
        check(
            self.vocab > 0,
            "gemma3.vocab_size",
            "the vocabulary is empty".into(),
        )?;
        check(
            self.dim > 0,
            "gemma3.embedding_length",
            "must be at least 1".into(),
        )?;
        check(
            self.layers > 0,
            "gemma3.block_count",
            "must be at least 1".into(),
        )?;
        check(
            self.heads > 0,
            "gemma3.attention.head_count",
            "must be at least 1".into(),
        )?;
        check(
            self.kv_heads > 0 && self.heads.is_multiple_of(self.kv_heads),
            "gemma3.attention.head_count_kv",
            format!(
                "{} must be at least 1 and divide the head count {}",
                self.kv_heads, self.heads
            ),
        )?;
        check(
            self.head_dim >= 2 && self.head_dim.is_multiple_of(2),
            "gemma3.attention.key_length",
            format!("{} must be even and at least 2", self.head_dim),
        )?;
        check(
            self.ff > 0,
            "gemma3.feed_forward_length",
            "must be at least 1".into(),
        )?;
        check(
            self.context > 0,
            "gemma3.context_length",
            "must be at least 1".into(),
        )?;
        check(
            positive(self.rms_eps),
            "gemma3.attention.layer_norm_rms_epsilon",
            format!("{} must be a positive number", self.rms_eps),
        )?;
        check(
            positive(self.rope_theta),
            "gemma3.rope.freq_base",
            format!("{} must be a positive number", self.rope_theta),
        )?;
        check(
            positive(self.rope_scale),
            "gemma3.rope.scaling.factor",
            format!("{} must be a positive number", 1.0 / self.rope_scale),
        )?;
        check(
            self.sliding_window > 0,
            "gemma3.attention.sliding_window",
            "must be at least 1".into(),
        )?;
        check(
            self.sliding_window_pattern > 0,
            "gemma3.attention.sliding_window_pattern",
            "must be at least 1".into(),
        )
    }
}

/// The Gemma 3 hyper-parameters from `gemma3.*` metadata, with llama.cpp's defaults
/// for what the file leaves out. Refuses a file of another architecture, and RoPE
/// scaling other than linear (llama.cpp's only Gemma 3 scaling).
pub fn gemma3_config_from_metadata(md: &Metadata) -> Result<Gemma3Config> {
    let arch = md.str("general.architecture")?;
    if arch != "gemma3" {
        bail!("general.architecture is {arch:?}, not \"gemma3\"");
    }
    let dim = md.u32("gemma3.embedding_length")? as usize;
    let heads = md.u32("gemma3.attention.head_count")? as usize;
    let layers = md.u32("gemma3.block_count")? as usize;
    let head_dim = match md.optional("gemma3.attention.key_length", Metadata::u32)? {
        Some(d) => d as usize,
        None => dim / heads.max(1),
    };
    let vocab = match md.optional("gemma3.vocab_size", Metadata::u32)? {
        Some(v) => v as usize,
        None => md.str_array("tokenizer.ggml.tokens")?.len(),
    };
    if let Some(kind) = md.optional("gemma3.rope.scaling.type", Metadata::str)? {
        if kind != "linear" && kind != "none" {
            bail!("gemma3.rope.scaling.type is {kind:?}; the engine supports only \"linear\"");
        }
    }
    let factor = md
        .optional("gemma3.rope.scaling.factor", Metadata::f32)?
        .filter(|&f| f != 0.0)
        .unwrap_or(1.0);
    let config = Gemma3Config {
        vocab,
        dim,
        layers,
        heads,
        kv_heads: md
            .optional("gemma3.attention.head_count_kv", Metadata::u32)?
            .unwrap_or(heads as u32) as usize,
        head_dim,
        ff: md.u32("gemma3.feed_forward_length")? as usize,
        context: md.u32("gemma3.context_length")? as usize,
        rms_eps: md.f32("gemma3.attention.layer_norm_rms_epsilon")?,
        rope_theta: md
            .optional("gemma3.rope.freq_base", Metadata::f32)?
            .unwrap_or(10_000.0),
        rope_scale: 1.0 / factor,
        rope_theta_local: LOCAL_ROPE_THETA,
        sliding_window: md.u32("gemma3.attention.sliding_window")? as usize,
        sliding_window_pattern: SLIDING_WINDOW_PATTERN,
        query_scale: Gemma3Config::default_query_scale(layers, dim, heads, head_dim),
    };
    config.validate()?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::Value;

    fn metadata() -> Metadata {
        let mut md = Metadata::new();
        md.insert("general.architecture", Value::String("gemma3".into()));
        for (key, v) in [
            ("gemma3.embedding_length", 640),
            ("gemma3.attention.head_count", 4),
            ("gemma3.attention.head_count_kv", 1),
            ("gemma3.attention.key_length", 256),
            ("gemma3.block_count", 18),
            ("gemma3.feed_forward_length", 2048),
            ("gemma3.context_length", 32768),
            ("gemma3.attention.sliding_window", 512),
            ("gemma3.vocab_size", 262144),
        ] {
            md.insert(key, Value::U32(v));
        }
        md.insert("gemma3.attention.layer_norm_rms_epsilon", Value::F32(1e-6));
        md.insert("gemma3.rope.freq_base", Value::F32(1e6));
        md
    }

    #[test]
    fn reads_gemma3_270m_like_llama_cpp() {
        let c = gemma3_config_from_metadata(&metadata()).unwrap();
        assert_eq!((c.q_dim(), c.kv_dim(), c.head_dim), (1024, 256, 256));
        assert_eq!(c.query_scale, 1.0 / 16.0);
        assert_eq!(
            (c.rope_theta, c.rope_theta_local, c.rope_scale),
            (1e6, 1e4, 1.0)
        );
        let global: Vec<usize> = (0..c.layers).filter(|&l| !c.is_sliding(l)).collect();
        assert_eq!(global, vec![5, 11, 17]);
    }

    #[test]
    fn linear_scaling_divides_positions_and_other_kinds_are_refused() {
        let mut md = metadata();
        md.insert("gemma3.rope.scaling.type", Value::String("linear".into()));
        md.insert("gemma3.rope.scaling.factor", Value::F32(8.0));
        assert_eq!(gemma3_config_from_metadata(&md).unwrap().rope_scale, 0.125);
        md.insert("gemma3.rope.scaling.type", Value::String("yarn".into()));
        assert!(gemma3_config_from_metadata(&md).is_err());
    }

    #[test]
    fn another_architecture_and_bad_constants_are_refused() {
        let mut md = metadata();
        md.insert("gemma3.attention.head_count_kv", Value::U32(3));
        let err = gemma3_config_from_metadata(&md).unwrap_err();
        let bad = err.downcast_ref::<BadParameter>().unwrap();
        assert_eq!(bad.key, "gemma3.attention.head_count_kv");
        md.insert("general.architecture", Value::String("llama".into()));
        assert!(gemma3_config_from_metadata(&md).is_err());
    }
}
