//! The llama-quantize reference input: a small random-weight llama GGUF, deterministic
//! from a seed (byte-fallback SentencePiece vocab, F16 weights, F32 norms).
//!
//! A test fixture, not a product generator (the product's tiny models are
//! `okla_engine::tiny::TinySpec`): tests/data/gguf/tiny_llama_llama_cpp.tsv holds the
//! sha256 of exactly these bytes and of llama.cpp's quantizations of them, so this file
//! must not change without regenerating those vectors. Included by path from
//! tests/gguf_quantize.rs, benches/gguf_quantize.rs and examples/tiny_llama.rs.

use std::path::Path;

use anyhow::Result;
use half::f16;

use okla_formats::gguf::{Array, GgmlType, GgufWriter, Metadata, TensorSpec, Value};
use okla_formats::rng::SplitMix64;

/// Shape of a synthetic llama model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TinyLlama {
    /// Transformer blocks.
    pub n_layer: u32,
    /// Hidden size (a multiple of 256 so every k-quant applies).
    pub n_embd: u64,
    /// Attention heads.
    pub n_head: u64,
    /// Key/value heads (grouped-query attention when below `n_head`).
    pub n_head_kv: u64,
    /// Feed-forward size.
    pub n_ff: u64,
    /// Seed of the weights.
    pub seed: u64,
}

impl Default for TinyLlama {
    /// 8 layers, n_embd 256, 4 heads / 2 KV heads, FFN 512: about 5M parameters.
    fn default() -> Self {
        Self {
            n_layer: 8,
            n_embd: 256,
            n_head: 4,
            n_head_kv: 2,
            n_ff: 512,
            seed: 42,
        }
    }
}

/// Token-type ids of the SentencePiece vocab (llama.cpp's `llama_token_type`).
const NORMAL: i32 = 1;
const UNKNOWN: i32 = 2;
const CONTROL: i32 = 3;
const UNUSED: i32 = 5;
const BYTE: i32 = 6;
/// Vocabulary size.
const N_VOCAB: usize = 512;
/// Whole-word pieces of the vocab (each preceded by the SentencePiece space mark).
const WORDS: [&str; 12] = [
    "the", "car", "price", "model", "year", "is", "of", "and", "Toyota", "Honda", "Santo",
    "Domingo",
];

/// Uniform in [-1, 1) from the top 24 bits of the next draw.
fn unit(rng: &mut SplitMix64) -> f32 {
    (rng.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
}

fn vocab() -> (Vec<String>, Vec<f32>, Vec<i32>) {
    let mut tokens: Vec<String> = vec!["<unk>".into(), "<s>".into(), "</s>".into()];
    let mut types = vec![UNKNOWN, CONTROL, CONTROL];
    tokens.extend((0..=255u8).map(|b| format!("<0x{b:02X}>")));
    types.extend([BYTE; 256]);
    let mut scores = vec![0.0; tokens.len()];
    let pieces = WORDS
        .iter()
        .map(|w| format!("\u{2581}{w}"))
        .chain(('a'..='z').map(|c| c.to_string()))
        .chain(('a'..='z').map(|c| format!("\u{2581}{c}")))
        .chain(["\u{2581}".to_string()]);
    for (i, piece) in pieces.enumerate() {
        tokens.push(piece);
        scores.push(-(i as f32));
        types.push(NORMAL);
    }
    while tokens.len() < N_VOCAB {
        tokens.push(format!("<extra_{}>", tokens.len()));
        scores.push(-1e4);
        types.push(UNUSED);
    }
    (tokens, scores, types)
}

impl TinyLlama {
    /// The metadata llama.cpp needs to load the model.
    pub fn metadata(&self) -> Metadata {
        let (tokens, scores, types) = vocab();
        let mut m = Metadata::new();
        let u32v = |v: u64| Value::U32(v as u32);
        m.insert("general.architecture", Value::String("llama".into()));
        m.insert("general.name", Value::String("tiny random llama".into()));
        m.insert("llama.context_length", Value::U32(256));
        m.insert("llama.embedding_length", u32v(self.n_embd));
        m.insert("llama.block_count", Value::U32(self.n_layer));
        m.insert("llama.feed_forward_length", u32v(self.n_ff));
        m.insert(
            "llama.rope.dimension_count",
            u32v(self.n_embd / self.n_head),
        );
        m.insert("llama.attention.head_count", u32v(self.n_head));
        m.insert("llama.attention.head_count_kv", u32v(self.n_head_kv));
        m.insert("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5));
        m.insert("llama.rope.freq_base", Value::F32(10000.0));
        m.insert("llama.vocab_size", Value::U32(N_VOCAB as u32));
        m.insert("general.file_type", Value::U32(1));
        m.insert("tokenizer.ggml.model", Value::String("llama".into()));
        m.insert("tokenizer.ggml.pre", Value::String("default".into()));
        m.insert("tokenizer.ggml.tokens", Value::Array(Array::String(tokens)));
        m.insert("tokenizer.ggml.scores", Value::Array(Array::F32(scores)));
        m.insert("tokenizer.ggml.token_type", Value::Array(Array::I32(types)));
        m.insert("tokenizer.ggml.bos_token_id", Value::U32(1));
        m.insert("tokenizer.ggml.eos_token_id", Value::U32(2));
        m.insert("tokenizer.ggml.unknown_token_id", Value::U32(0));
        m.insert("tokenizer.ggml.add_bos_token", Value::Bool(true));
        m
    }

    /// The tensors, in the order convert_hf_to_gguf.py writes them (untied output).
    pub fn tensors(&self) -> Vec<TensorSpec> {
        let (e, ff, v) = (self.n_embd, self.n_ff, N_VOCAB as u64);
        let kv = e / self.n_head * self.n_head_kv;
        let mut t = vec![
            TensorSpec::new("token_embd.weight", GgmlType::F16, vec![e, v]),
            TensorSpec::new("output_norm.weight", GgmlType::F32, vec![e]),
            TensorSpec::new("output.weight", GgmlType::F16, vec![e, v]),
        ];
        for i in 0..self.n_layer {
            let b = |n: &str, ty, dims| TensorSpec::new(format!("blk.{i}.{n}"), ty, dims);
            t.extend([
                b("attn_norm.weight", GgmlType::F32, vec![e]),
                b("attn_q.weight", GgmlType::F16, vec![e, e]),
                b("attn_k.weight", GgmlType::F16, vec![e, kv]),
                b("attn_v.weight", GgmlType::F16, vec![e, kv]),
                b("attn_output.weight", GgmlType::F16, vec![e, e]),
                b("ffn_norm.weight", GgmlType::F32, vec![e]),
                b("ffn_gate.weight", GgmlType::F16, vec![e, ff]),
                b("ffn_up.weight", GgmlType::F16, vec![e, ff]),
                b("ffn_down.weight", GgmlType::F16, vec![ff, e]),
            ]);
        }
        t
    }

    /// Write the model to `path` (atomically). Matrices are uniform in ±0.1 (F16),
    /// norm weights uniform in 1 ± 0.1 (F32), all from one splitmix64 stream.
    pub fn write(&self, path: &Path) -> Result<()> {
        let tensors = self.tensors();
        let writer = GgufWriter::new(self.metadata(), tensors.clone())?;
        let mut rng = SplitMix64::new(self.seed);
        writer.write_file(path, |i, w| {
            let n: u64 = tensors[i].dims.iter().product();
            let mut bytes = Vec::with_capacity(n as usize * 4);
            for _ in 0..n {
                let x = unit(&mut rng) * 0.1;
                match tensors[i].ggml_type {
                    GgmlType::F32 => bytes.extend((1.0 + x).to_le_bytes()),
                    _ => bytes.extend(f16::from_f32(x).to_le_bytes()),
                }
            }
            w.write_all(&bytes)
        })
    }
}
