//! Where a model's tensors live: byte ranges inside one shared storage (the GGUF mmap),
//! used in place without a second copy. Norm vectors are small and copied to f32.

use std::sync::Arc;

use anyhow::{ensure, Context, Result};

use super::kernels::{Matrix, WeightType};

/// Bytes that hold the weights (a memory-mapped GGUF file, or a buffer in tests).
pub type Storage = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// A 2-D weight tensor: `rows` rows of `cols` elements of `ty` at `offset` in the storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TensorRef {
    /// Storage type.
    pub ty: WeightType,
    /// Rows (output features; GGUF `ne[1]`).
    pub rows: usize,
    /// Columns (input features, contiguous; GGUF `ne[0]`).
    pub cols: usize,
    /// Byte offset of the first row in the storage.
    pub offset: usize,
}

impl TensorRef {
    /// Bytes the tensor occupies.
    pub fn byte_len(&self) -> Result<usize> {
        Ok(self.ty.row_bytes(self.cols)? * self.rows)
    }
}

/// The weights of one transformer block.
#[derive(Debug, Clone)]
pub struct LayerWeights {
    /// RMSNorm weight before attention.
    pub attn_norm: Vec<f32>,
    /// Query projection (`dim → heads·head_dim`).
    pub wq: TensorRef,
    /// Key projection (`dim → kv_dim`).
    pub wk: TensorRef,
    /// Value projection (`dim → kv_dim`).
    pub wv: TensorRef,
    /// Attention output projection (`dim → dim`).
    pub wo: TensorRef,
    /// RMSNorm weight before the feed-forward.
    pub ffn_norm: Vec<f32>,
    /// SwiGLU gate projection (`dim → ff`).
    pub gate: TensorRef,
    /// SwiGLU up projection (`dim → ff`).
    pub up: TensorRef,
    /// Down projection (`ff → dim`).
    pub down: TensorRef,
    /// Gemma 3's extra norms, when the block has them.
    pub sandwich: Option<SandwichNorms>,
}

/// The norms Gemma 3 adds to a block: per head on queries and keys, and after the
/// attention and feed-forward outputs (before each joins the residual stream).
#[derive(Debug, Clone)]
pub struct SandwichNorms {
    /// RMSNorm weight of each query head (`head_dim`).
    pub q_norm: Vec<f32>,
    /// RMSNorm weight of each key head (`head_dim`).
    pub k_norm: Vec<f32>,
    /// RMSNorm weight after attention (`dim`).
    pub post_attention: Vec<f32>,
    /// RMSNorm weight after the feed-forward (`dim`).
    pub post_ffw: Vec<f32>,
}

/// All weights of a Llama model.
#[derive(Clone)]
pub struct ModelWeights {
    /// The bytes every [`TensorRef`] points into.
    pub storage: Storage,
    /// Token embeddings (`vocab` rows of `dim`).
    pub token_embd: TensorRef,
    /// Transformer blocks.
    pub layers: Vec<LayerWeights>,
    /// Final RMSNorm weight.
    pub output_norm: Vec<f32>,
    /// Output projection (`dim → vocab`); the token embeddings when tied.
    pub output: TensorRef,
    /// RoPE frequency divisors (`rope_freqs.weight`), when present.
    pub rope_freqs: Option<Vec<f32>>,
}

impl std::fmt::Debug for ModelWeights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelWeights")
            .field("storage_bytes", &self.bytes().len())
            .field("layers", &self.layers.len())
            .finish_non_exhaustive()
    }
}

impl ModelWeights {
    /// The whole storage.
    pub fn bytes(&self) -> &[u8] {
        (*self.storage).as_ref()
    }

    /// A tensor as a matrix over the storage bytes.
    ///
    /// Panics when the tensor lies outside the storage; [`ModelWeights::validate`] rules that out.
    pub fn matrix(&self, t: &TensorRef) -> Matrix<'_> {
        let len = t.ty.row_bytes(t.cols).expect("validated row size") * t.rows;
        Matrix {
            ty: t.ty,
            rows: t.rows,
            cols: t.cols,
            data: &self.bytes()[t.offset..t.offset + len],
        }
    }

    /// Every 2-D tensor of the model, a tied output head once (for validation and
    /// counting parameters).
    pub fn tensors(&self) -> Vec<TensorRef> {
        let mut all = vec![self.token_embd];
        if self.output != self.token_embd {
            all.push(self.output);
        }
        for l in &self.layers {
            all.extend([l.wq, l.wk, l.wv, l.wo, l.gate, l.up, l.down]);
        }
        all
    }

    /// Writes the embedding of token `token` (a dequantized row of `token_embd`) into `out`.
    pub fn embedding(&self, token: usize, out: &mut [f32]) -> Result<()> {
        let m = self.matrix(&self.token_embd);
        ensure!(
            token < m.rows,
            "token id {token} is outside the vocabulary of {}",
            m.rows
        );
        m.ty.quant_type()
            .dequantize_row(m.row(token), out)
            .with_context(|| format!("dequantizing the embedding of token {token}"))
    }

    /// Checks every tensor lies inside the storage with whole blocks per row.
    pub fn validate(&self) -> Result<()> {
        let size = self.bytes().len();
        for t in self.tensors() {
            let len = t.byte_len()?;
            ensure!(
                t.offset.checked_add(len).is_some_and(|end| end <= size),
                "tensor at offset {} with {len} bytes lies outside the {size}-byte storage",
                t.offset
            );
        }
        Ok(())
    }
}

/// Block `layer`'s Gemma 3 norms: all four present, or none.
fn sandwich_norms(src: &dyn TensorSource, layer: usize) -> Result<Option<SandwichNorms>> {
    let names = [
        "attn_q_norm",
        "attn_k_norm",
        "post_attention_norm",
        "post_ffw_norm",
    ]
    .map(|s| format!("blk.{layer}.{s}.weight"));
    let found = names
        .iter()
        .map(|n| src.vector(n))
        .collect::<Result<Vec<_>>>()?;
    if found.iter().all(Option::is_none) {
        return Ok(None);
    }
    let mut found = found.into_iter().zip(&names).map(|(v, n)| {
        v.with_context(|| {
            format!("tensor {n} is missing (a block has all four Gemma norms or none)")
        })
    });
    let mut next = || found.next().expect("four names");
    Ok(Some(SandwichNorms {
        q_norm: next()?,
        k_norm: next()?,
        post_attention: next()?,
        post_ffw: next()?,
    }))
}

/// Where to find a named tensor: its reference for matrices, its values for vectors.
pub trait TensorSource {
    /// The 2-D tensor `name` (GGUF naming: `blk.0.attn_q.weight`), if present.
    fn matrix(&self, name: &str) -> Result<Option<TensorRef>>;
    /// The 1-D f32 tensor `name`, if present.
    fn vector(&self, name: &str) -> Result<Option<Vec<f32>>>;
}

impl ModelWeights {
    /// Collects the tensors by their GGUF names: `token_embd`, `output_norm`,
    /// `output` (falls back to the embeddings when absent: tied), `rope_freqs`
    /// (optional) and per block `attn_norm`, `attn_q/k/v/output`, `ffn_norm`,
    /// `ffn_gate/up/down`, and Gemma 3's `attn_q_norm`, `attn_k_norm`,
    /// `post_attention_norm`, `post_ffw_norm` (all four or none).
    pub fn from_source(storage: Storage, layers: usize, src: &dyn TensorSource) -> Result<Self> {
        let matrix = |name: &str| -> Result<TensorRef> {
            src.matrix(name)?
                .with_context(|| format!("tensor {name} is missing"))
        };
        let vector = |name: &str| -> Result<Vec<f32>> {
            src.vector(name)?
                .with_context(|| format!("tensor {name} is missing"))
        };
        let token_embd = matrix("token_embd.weight")?;
        let layers = (0..layers)
            .map(|i| {
                let n = |s: &str| format!("blk.{i}.{s}.weight");
                Ok(LayerWeights {
                    attn_norm: vector(&n("attn_norm"))?,
                    wq: matrix(&n("attn_q"))?,
                    wk: matrix(&n("attn_k"))?,
                    wv: matrix(&n("attn_v"))?,
                    wo: matrix(&n("attn_output"))?,
                    ffn_norm: vector(&n("ffn_norm"))?,
                    gate: matrix(&n("ffn_gate"))?,
                    up: matrix(&n("ffn_up"))?,
                    down: matrix(&n("ffn_down"))?,
                    sandwich: sandwich_norms(src, i)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let weights = Self {
            storage,
            token_embd,
            layers,
            output_norm: vector("output_norm.weight")?,
            output: src.matrix("output.weight")?.unwrap_or(token_embd),
            rope_freqs: src.vector("rope_freqs.weight")?,
        };
        weights.validate()?;
        Ok(weights)
    }
}
