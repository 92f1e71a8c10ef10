//! The architectures the engine runs, and what the forward pass needs to know of each:
//! widths, norms, RoPE per layer, attention window and scale, feed-forward activation.
//!
//! | | Llama | Gemma 3 |
//! |---|---|---|
//! | embeddings | as stored | × √dim |
//! | norms per block | before attention, before the FFN | also after each, and on Q and K per head |
//! | RoPE | adjacent pairs (normal), one base (+ `rope_freqs`) | halves (NEOX); local layers base 10⁴, global layers the file's base |
//! | attention | causal, scores × 1/√head_dim | sliding window on local layers; queries × the query scale, scores × 1 |
//! | feed-forward | SwiGLU | GELU(tanh)-gated, through ggml's f16 GELU table |

use super::rope::{Rope, RopeMode};
use okla_formats::gemma3_config::Gemma3Config;
use okla_formats::llama_config::{BadParameter, LlamaConfig};

/// A model's architecture with its hyper-parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Architecture {
    /// `general.architecture = "llama"`.
    Llama(LlamaConfig),
    /// `general.architecture = "gemma3"`.
    Gemma3(Gemma3Config),
}

/// The gated activation of the feed-forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `silu(gate) · up`.
    SwiGlu,
    /// `gelu_tanh(gate) · up`.
    GeGlu,
}

/// How one layer attends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerAttention {
    /// Which of [`Architecture::ropes`] rotates this layer's queries and keys.
    pub rope: usize,
    /// Positions a query sees, itself included (`None`: every earlier position).
    pub window: Option<usize>,
}

impl Architecture {
    /// The GGUF name (`general.architecture`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Llama(_) => "llama",
            Self::Gemma3(_) => "gemma3",
        }
    }

    /// Vocabulary size (width of the logits).
    pub fn vocab(&self) -> usize {
        match self {
            Self::Llama(c) => c.vocab,
            Self::Gemma3(c) => c.vocab,
        }
    }

    /// Embedding width.
    pub fn dim(&self) -> usize {
        match self {
            Self::Llama(c) => c.dim,
            Self::Gemma3(c) => c.dim,
        }
    }

    /// Transformer blocks.
    pub fn layers(&self) -> usize {
        match self {
            Self::Llama(c) => c.layers,
            Self::Gemma3(c) => c.layers,
        }
    }

    /// Query heads.
    pub fn heads(&self) -> usize {
        match self {
            Self::Llama(c) => c.heads,
            Self::Gemma3(c) => c.heads,
        }
    }

    /// Key/value heads.
    pub fn kv_heads(&self) -> usize {
        match self {
            Self::Llama(c) => c.kv_heads,
            Self::Gemma3(c) => c.kv_heads,
        }
    }

    /// Width of one head.
    pub fn head_dim(&self) -> usize {
        match self {
            Self::Llama(c) => c.head_dim(),
            Self::Gemma3(c) => c.head_dim,
        }
    }

    /// Width of the query projection (and of the attention output).
    pub fn q_dim(&self) -> usize {
        self.heads() * self.head_dim()
    }

    /// Width of the key (or value) projection.
    pub fn kv_dim(&self) -> usize {
        self.kv_heads() * self.head_dim()
    }

    /// Hidden width of the feed-forward.
    pub fn ff(&self) -> usize {
        match self {
            Self::Llama(c) => c.ff,
            Self::Gemma3(c) => c.ff,
        }
    }

    /// Longest supported sequence.
    pub fn context(&self) -> usize {
        match self {
            Self::Llama(c) => c.context,
            Self::Gemma3(c) => c.context,
        }
    }

    /// RMSNorm epsilon.
    pub fn rms_eps(&self) -> f32 {
        match self {
            Self::Llama(c) => c.rms_eps,
            Self::Gemma3(c) => c.rms_eps,
        }
    }

    /// What the token embeddings are multiplied by (llama.cpp's `ggml_scale` by `sqrtf(n_embd)`).
    pub fn embedding_scale(&self) -> Option<f32> {
        match self {
            Self::Llama(_) => None,
            Self::Gemma3(c) => Some((c.dim as f32).sqrt()),
        }
    }

    /// What the queries are multiplied by before attention (Gemma 3), and what the
    /// scores are multiplied by inside the softmax (Llama), as llama.cpp's graphs do.
    pub fn attention_scales(&self) -> (Option<f32>, f32) {
        match self {
            Self::Llama(c) => (None, 1.0 / (c.head_dim() as f32).sqrt()),
            Self::Gemma3(c) => (Some(c.query_scale), 1.0),
        }
    }

    /// True when the blocks have Q/K norms and norms after attention and feed-forward.
    pub fn has_sandwich_norms(&self) -> bool {
        matches!(self, Self::Gemma3(_))
    }

    /// The feed-forward activation.
    pub fn activation(&self) -> Activation {
        match self {
            Self::Llama(_) => Activation::SwiGlu,
            Self::Gemma3(_) => Activation::GeGlu,
        }
    }

    /// The distinct rotary embeddings of the model (`rope_freqs`: Llama 3.1's per-pair
    /// frequency divisors); [`Self::layer_attention`] says which one each layer uses.
    pub fn ropes(&self, rope_freqs: Option<Vec<f32>>) -> Vec<Rope> {
        match self {
            Self::Llama(c) => vec![Rope::new(
                RopeMode::Normal,
                c.rope_dims,
                c.rope_theta,
                1.0,
                rope_freqs,
            )],
            Self::Gemma3(c) => vec![
                Rope::new(RopeMode::Neox, c.head_dim, c.rope_theta_local, 1.0, None),
                Rope::new(RopeMode::Neox, c.head_dim, c.rope_theta, c.rope_scale, None),
            ],
        }
    }

    /// How layer `layer` attends.
    pub fn layer_attention(&self, layer: usize) -> LayerAttention {
        match self {
            Self::Llama(_) => LayerAttention {
                rope: 0,
                window: None,
            },
            Self::Gemma3(c) if c.is_sliding(layer) => LayerAttention {
                rope: 0,
                window: Some(c.sliding_window),
            },
            Self::Gemma3(_) => LayerAttention {
                rope: 1,
                window: None,
            },
        }
    }

    /// Checks the hyper-parameters (each error names its metadata key).
    pub fn validate(&self) -> Result<(), BadParameter> {
        match self {
            Self::Llama(c) => c.validate(),
            Self::Gemma3(c) => c.validate(),
        }
    }
}
