//! Tiny deterministic Llama models with seeded random weights, for tests and parity
//! checks: the tensors (f32, GGUF names and shapes) and the matching configuration.

use okla_formats::llama_config::LlamaConfig;
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
        let mut rng = Gaussian::new(self.seed);
        let cfg = self.config();
        let mut out = Vec::new();
        let mut matrix = |name: String, rows: usize, cols: usize, std: f32| TinyTensor {
            name,
            rows,
            cols,
            data: (0..rows * cols).map(|_| rng.next() * std).collect(),
        };
        let proj = 1.0 / (self.dim as f32).sqrt();
        out.push(matrix(
            "token_embd.weight".into(),
            self.vocab,
            self.dim,
            1.0,
        ));
        let mut blocks = Vec::new();
        for i in 0..self.layers {
            let n = |s: &str| format!("blk.{i}.{s}.weight");
            blocks.push(matrix(n("attn_q"), self.dim, self.dim, proj));
            blocks.push(matrix(n("attn_k"), cfg.kv_dim(), self.dim, proj));
            blocks.push(matrix(n("attn_v"), cfg.kv_dim(), self.dim, proj));
            blocks.push(matrix(n("attn_output"), self.dim, self.dim, proj));
            blocks.push(matrix(n("ffn_gate"), self.ff, self.dim, proj));
            blocks.push(matrix(n("ffn_up"), self.ff, self.dim, proj));
            blocks.push(matrix(
                n("ffn_down"),
                self.dim,
                self.ff,
                1.0 / (self.ff as f32).sqrt(),
            ));
            let mut norm = matrix(n("attn_norm"), 1, self.dim, 0.1);
            norm.data.iter_mut().for_each(|v| *v += 1.0);
            blocks.push(norm);
            let mut norm = matrix(n("ffn_norm"), 1, self.dim, 0.1);
            norm.data.iter_mut().for_each(|v| *v += 1.0);
            blocks.push(norm);
        }
        out.extend(blocks);
        let mut norm = matrix("output_norm.weight".into(), 1, self.dim, 0.1);
        norm.data.iter_mut().for_each(|v| *v += 1.0);
        out.push(norm);
        out.push(matrix(
            "output.weight".into(),
            self.vocab,
            self.dim,
            self.logit_scale * proj,
        ));
        out
    }
}

/// Seeded standard normal numbers (SplitMix64 + Box–Muller).
struct Gaussian {
    rng: SplitMix64,
    spare: Option<f32>,
}

impl Gaussian {
    fn new(seed: u64) -> Self {
        Self {
            rng: SplitMix64::new(seed),
            spare: None,
        }
    }

    fn next(&mut self) -> f32 {
        if let Some(v) = self.spare.take() {
            return v;
        }
        let u1 = self.rng.next_f64().max(f64::MIN_POSITIVE);
        let u2 = self.rng.next_f64();
        let r = (-2.0 * u1.ln()).sqrt();
        let t = std::f64::consts::TAU * u2;
        self.spare = Some((r * t.sin()) as f32);
        (r * t.cos()) as f32
    }
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
        let tensors = self.tensors();
        let entries: Vec<TensorEntry> = tensors
            .iter()
            .map(|t| TensorEntry {
                name: t.name.clone(),
                dims: dims(t),
            })
            .collect();
        write_llama_gguf(
            path,
            metadata,
            &entries,
            file_type,
            |i| Ok(tensors[i].data.clone()),
            &NoProgress,
        )
    }
}

/// GGUF dimensions (innermost first) of a tiny tensor.
fn dims(t: &TinyTensor) -> Vec<u64> {
    if t.rows == 1 {
        vec![t.cols as u64]
    } else {
        vec![t.cols as u64, t.rows as u64]
    }
}
