//! Tiny deterministic Llama models with seeded random weights, for tests and parity
//! checks: the tensors (f32, GGUF names and shapes) and the matching configuration.

use okla_formats::llama_config::LlamaConfig;
use std::ops::Range;
use std::sync::Arc;

use anyhow::{Context, Result};

use super::arch::Architecture;
use super::kernels::{Isa, WeightType};
use super::model::Model;
use super::weights::{ModelWeights, Storage, TensorRef, TensorSource};
use crate::model_file::{llama_metadata, write_llama_gguf, TensorEntry};
use okla_formats::gguf::FileType;
use okla_formats::progress::NoProgress;
use okla_formats::rng::SplitMix64;
use okla_text::gguf_vocab::GgufVocab;
use okla_text::ChatTokenizer;

/// The shape and seed of a tiny model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TinySpec {
    /// Embedding width.
    pub dim: usize,
    /// Transformer blocks.
    pub layers: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads.
    pub kv_heads: usize,
    /// Feed-forward width.
    pub ff: usize,
    /// Vocabulary size.
    pub vocab: usize,
    /// Context length written to the metadata.
    pub context: usize,
    /// Seed of the weights.
    pub seed: u64,
    /// Standard deviation of the output logits (higher: more peaked next-token choices).
    pub logit_scale: f32,
}

impl Default for TinySpec {
    fn default() -> Self {
        Self {
            dim: 256,
            layers: 2,
            heads: 4,
            kv_heads: 2,
            ff: 512,
            vocab: 128256,
            context: 4096,
            seed: 1,
            logit_scale: 4.0,
        }
    }
}

/// One tensor of a tiny model.
#[derive(Debug, Clone, PartialEq)]
pub struct TinyTensor {
    /// GGUF tensor name.
    pub name: String,
    /// Rows (1 for vectors).
    pub rows: usize,
    /// Columns (GGUF `ne[0]`).
    pub cols: usize,
    /// Row-major values.
    pub data: Vec<f32>,
}

impl TinySpec {
    /// The Llama configuration of this spec (Llama 3 RoPE base and norm epsilon).
    pub fn config(&self) -> LlamaConfig {
        LlamaConfig {
            vocab: self.vocab,
            dim: self.dim,
            layers: self.layers,
            heads: self.heads,
            kv_heads: self.kv_heads,
            ff: self.ff,
            context: self.context,
            rope_theta: 500000.0,
            rope_dims: self.dim / self.heads,
            rms_eps: 1e-5,
        }
    }

    /// The tensors, in GGUF order, with seeded Gaussian weights scaled by fan-in and
    /// norm weights near 1.
    pub fn tensors(&self) -> Vec<TinyTensor> {
        self.layout()
            .into_iter()
            .map(|l| TinyTensor {
                data: l.values(self.seed, 0..l.rows),
                name: l.name,
                rows: l.rows,
                cols: l.cols,
            })
            .collect()
    }

    /// The tensors of [`Self::tensors`] without their values: each one's place in the
    /// seed's single Gaussian stream (drawn in this order) and its scale.
    fn layout(&self) -> Vec<TinyLayout> {
        let cfg = self.config();
        let mut out = Vec::new();
        let mut first = 0u64;
        let mut push = |name: String, rows: usize, cols: usize, std: f32, norm: bool| {
            out.push(TinyLayout {
                name,
                rows,
                cols,
                first,
                std,
                norm,
            });
            first += (rows * cols) as u64;
        };
        let proj = 1.0 / (self.dim as f32).sqrt();
        push("token_embd.weight".into(), self.vocab, self.dim, 1.0, false);
        for i in 0..self.layers {
            let n = |s: &str| format!("blk.{i}.{s}.weight");
            push(n("attn_q"), self.dim, self.dim, proj, false);
            push(n("attn_k"), cfg.kv_dim(), self.dim, proj, false);
            push(n("attn_v"), cfg.kv_dim(), self.dim, proj, false);
            push(n("attn_output"), self.dim, self.dim, proj, false);
            push(n("ffn_gate"), self.ff, self.dim, proj, false);
            push(n("ffn_up"), self.ff, self.dim, proj, false);
            let down = 1.0 / (self.ff as f32).sqrt();
            push(n("ffn_down"), self.dim, self.ff, down, false);
            push(n("attn_norm"), 1, self.dim, 0.1, true);
            push(n("ffn_norm"), 1, self.dim, 0.1, true);
        }
        push("output_norm.weight".into(), 1, self.dim, 0.1, true);
        let output = self.logit_scale * proj;
        push("output.weight".into(), self.vocab, self.dim, output, false);
        out
    }
}

/// One tensor of a tiny model without its values: where they lie in the seed's
/// Gaussian stream and how they are scaled, so any rows can be drawn on their own.
struct TinyLayout {
    name: String,
    rows: usize,
    cols: usize,
    /// Index of its first value in the stream.
    first: u64,
    /// Scale of the standard normal values.
    std: f32,
    /// A norm weight: 1 is added after scaling.
    norm: bool,
}

impl TinyLayout {
    /// Rows `rows` of the tensor, row-major.
    fn values(&self, seed: u64, rows: Range<usize>) -> Vec<f32> {
        let first = self.first + (rows.start * self.cols) as u64;
        let mut data = gaussians(seed, first, rows.len() * self.cols);
        for v in &mut data {
            *v *= self.std;
            if self.norm {
                *v += 1.0;
            }
        }
        data
    }
}

/// Values `first..first + n` of the standard normal stream of `seed`: SplitMix64
/// draws turned into pairs by Box–Muller (value 2p is the pair's cosine, 2p + 1 its
/// sine, from draws 2p and 2p + 1).
fn gaussians(seed: u64, first: u64, n: usize) -> Vec<f32> {
    let skip = (first % 2) as usize;
    let mut rng = SplitMix64::after(seed, first - first % 2);
    let mut out = Vec::with_capacity(n + 2);
    while out.len() < n + skip {
        let u1 = rng.next_f64().max(f64::MIN_POSITIVE);
        let u2 = rng.next_f64();
        let r = (-2.0 * u1.ln()).sqrt();
        let t = std::f64::consts::TAU * u2;
        out.push((r * t.cos()) as f32);
        out.push((r * t.sin()) as f32);
    }
    out.drain(..skip);
    out.truncate(n);
    out
}

/// Tensors packed as F32 into one buffer, looked up by name (an in-memory model).
struct PackedF32 {
    refs: std::collections::HashMap<String, (TensorRef, Vec<f32>)>,
}

impl TensorSource for PackedF32 {
    fn matrix(&self, name: &str) -> Result<Option<TensorRef>> {
        Ok(self.refs.get(name).map(|(r, _)| *r))
    }

    fn vector(&self, name: &str) -> Result<Option<Vec<f32>>> {
        Ok(self.refs.get(name).map(|(_, v)| v.clone()))
    }
}

impl TinySpec {
    /// The model in memory with F32 weights (no file), on `threads` threads.
    pub fn build_f32(&self, threads: usize, isa: Isa) -> Result<Model> {
        let tensors = self.tensors();
        let mut bytes = Vec::new();
        let mut refs = std::collections::HashMap::new();
        for t in tensors {
            let r = TensorRef {
                ty: WeightType::F32,
                rows: t.rows,
                cols: t.cols,
                offset: bytes.len(),
            };
            bytes.extend(t.data.iter().flat_map(|v| v.to_le_bytes()));
            let vector = if t.rows == 1 { t.data } else { Vec::new() };
            refs.insert(t.name, (r, vector));
        }
        let storage: Storage = Arc::new(bytes);
        let weights = ModelWeights::from_source(storage, self.layers, &PackedF32 { refs })?;
        Model::new(Architecture::Llama(self.config()), weights, threads, isa)
    }
}

impl TinySpec {
    /// Writes the model as a Llama GGUF at `path` (atomically) with every weight matrix
    /// quantized per llama.cpp's recipe for `file_type`, norms in F32, the real Llama 3
    /// vocabulary and chat template, and the metadata llama.cpp needs to load it.
    pub fn write_gguf(&self, path: &std::path::Path, file_type: FileType) -> Result<()> {
        let chat = ChatTokenizer::llama3()?;
        let vocab = GgufVocab::from_tokenizer(
            chat.hf_tokenizer().context("a tokenizer.json tokenizer")?,
            "<|begin_of_text|>",
            "<|eot_id|>",
        )?;
        anyhow::ensure!(
            self.vocab == vocab.tokens.len(),
            "a GGUF tiny model uses the Llama 3 vocabulary of {} tokens, not {}",
            vocab.tokens.len(),
            self.vocab
        );
        let metadata = llama_metadata(
            &self.config(),
            &format!("okla tiny llama seed {}", self.seed),
            file_type,
            vocab,
        );
        let layout = self.layout();
        let entries: Vec<TensorEntry> = layout
            .iter()
            .map(|t| TensorEntry {
                name: t.name.clone(),
                dims: dims(t.rows, t.cols),
            })
            .collect();
        write_llama_gguf(
            path,
            metadata,
            &entries,
            file_type,
            |i, rows| Ok(layout[i].values(self.seed, rows)),
            &NoProgress,
        )
    }
}

/// GGUF dimensions (innermost first) of a tiny tensor.
fn dims(rows: usize, cols: usize) -> Vec<u64> {
    if rows == 1 {
        vec![cols as u64]
    } else {
        vec![cols as u64, rows as u64]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_slice_of_the_gaussian_stream_equals_the_stream_drawn_from_its_start() {
        let stream = gaussians(9, 0, 41);
        for (first, n) in [
            (0usize, 41usize),
            (1, 40),
            (2, 7),
            (7, 1),
            (13, 28),
            (40, 1),
        ] {
            assert_eq!(
                gaussians(9, first as u64, n),
                stream[first..first + n],
                "{first}+{n}"
            );
        }
    }

    #[test]
    fn rows_of_a_tensor_drawn_alone_equal_the_whole_tensors_rows() {
        let spec = TinySpec {
            dim: 6,
            heads: 2,
            kv_heads: 1,
            ff: 5,
            vocab: 9,
            ..TinySpec::default()
        };
        for l in spec.layout() {
            let whole = l.values(spec.seed, 0..l.rows);
            for start in 0..l.rows {
                let part = l.values(spec.seed, start..l.rows);
                assert_eq!(part, whole[start * l.cols..], "{} from row {start}", l.name);
            }
        }
    }
}
