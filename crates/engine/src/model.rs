//! The Llama forward pass on a batch of tokens: embeddings, RMSNorm, RoPE,
//! grouped-query attention over the f16 KV cache, SwiGLU feed-forward, output head.

use anyhow::{ensure, Context, Result};
use rayon::prelude::*;

use super::kernels::{attention_scores, attention_values, matmul, ActivationRows, Isa};
use super::kv_cache::KvCache;
use super::ops::{add_in_place, ggml_expf, reduce16, rms_norm, swiglu};
use super::rope::Rope;
use super::weights::{ModelWeights, TensorRef};
use okla_formats::llama_config::LlamaConfig;

/// Tokens processed per forward step during prefill (llama.cpp's default micro-batch).
pub const PREFILL_CHUNK: usize = 512;

/// A loaded model ready to run, with its own thread pool.
pub struct Model {
    config: LlamaConfig,
    weights: ModelWeights,
    rope: Rope,
    isa: Isa,
    pool: rayon::ThreadPool,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("config", &self.config)
            .field("isa", &self.isa)
            .field("threads", &self.threads())
            .finish_non_exhaustive()
    }
}

impl Model {
    /// Checks the weights against the shape and starts a pool of `threads` workers.
    pub fn new(
        config: LlamaConfig,
        weights: ModelWeights,
        threads: usize,
        isa: Isa,
    ) -> Result<Self> {
        config.validate()?;
        weights.validate()?;
        check_shapes(&config, &weights)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build()
            .context("cannot start the inference thread pool")?;
        let rope = Rope::new(
            config.rope_dims,
            config.rope_theta,
            weights.rope_freqs.clone(),
        );
        Ok(Self {
            config,
            weights,
            rope,
            isa,
            pool,
        })
    }

    /// The model's shape.
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// The model's weights.
    pub fn weights(&self) -> &ModelWeights {
        &self.weights
    }

    /// Worker threads.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// The instruction set the kernels use.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// An empty KV cache for this model.
    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.config.layers, self.config.kv_dim())
    }

    /// Runs `tokens` after the cached positions, appending their keys and values to
    /// `cache`, and returns the logits (`vocab` floats each) at the positions of
    /// `tokens` listed in `logits_at`, in that order. Long inputs run in chunks of
    /// [`PREFILL_CHUNK`]; the results do not depend on the chunking.
    pub fn forward(
        &self,
        cache: &mut KvCache,
        tokens: &[u32],
        logits_at: &[usize],
    ) -> Result<Vec<f32>> {
        ensure!(
            cache.len() + tokens.len() <= self.config.context,
            "sequence of {} tokens exceeds the model context of {}",
            cache.len() + tokens.len(),
            self.config.context
        );
        if let Some(bad) = tokens.iter().find(|&&t| t as usize >= self.config.vocab) {
            anyhow::bail!(
                "token id {bad} is outside the vocabulary of {}",
                self.config.vocab
            );
        }
        let mut logits = Vec::with_capacity(logits_at.len() * self.config.vocab);
        for (c, chunk) in tokens.chunks(PREFILL_CHUNK).enumerate() {
            let start = c * PREFILL_CHUNK;
            let wanted: Vec<usize> = logits_at
                .iter()
                .filter(|&&i| i >= start && i < start + chunk.len())
                .map(|i| i - start)
                .collect();
            let hidden = self
                .pool
                .install(|| self.forward_chunk(cache, chunk, &wanted))?;
            logits.extend(self.pool.install(|| self.logits(&hidden)));
        }
        Ok(logits)
    }

    fn matmul(&self, w: &TensorRef, acts: &ActivationRows) -> Vec<f32> {
        let m = self.weights.matrix(w);
        let mut out = vec![0.0; acts.rows() * m.rows];
        matmul(self.isa, &m, acts, &mut out);
        out
    }

    /// Runs one chunk through every layer; returns the final hidden states (not yet
    /// normed) of the rows `outputs`. Like llama.cpp, the last layer's feed-forward
    /// runs only on those rows (which also decides their GEMM/GEMV kernel order).
    fn forward_chunk(
        &self,
        cache: &mut KvCache,
        tokens: &[u32],
        outputs: &[usize],
    ) -> Result<Vec<f32>> {
        let cfg = &self.config;
        let (dim, n) = (cfg.dim, tokens.len());
        let mut x = vec![0.0f32; n * dim];
        for (row, &t) in x.chunks_exact_mut(dim).zip(tokens) {
            self.weights.embedding(t as usize, row)?;
        }
        let pos0 = cache.len();
        let angles: Vec<_> = (0..n).map(|i| self.rope.angles(pos0 + i)).collect();
        for (l, layer) in self.weights.layers.iter().enumerate() {
            let mut h = x.clone();
            rms_norm(&mut h, &layer.attn_norm, cfg.rms_eps);
            let acts = convert_for(&h, dim, &[&layer.wq, &layer.wk, &layer.wv]);
            let mut q = self.matmul(&layer.wq, pick(&acts, &layer.wq));
            let mut k = self.matmul(&layer.wk, pick(&acts, &layer.wk));
            let v = self.matmul(&layer.wv, pick(&acts, &layer.wv));
            let hd = cfg.head_dim();
            for (i, a) in angles.iter().enumerate() {
                self.rope.apply(a, &mut q[i * dim..(i + 1) * dim], hd);
                self.rope
                    .apply(a, &mut k[i * cfg.kv_dim()..(i + 1) * cfg.kv_dim()], hd);
            }
            cache.append_layer(l, &k, &v);
            let attn = self.attention(cache, l, pos0, &q);
            let attn_acts = ActivationRows::quantize(layer.wo.ty.activation(), &attn, dim);
            add_in_place(&mut x, &self.matmul(&layer.wo, &attn_acts));
            if l + 1 == cfg.layers {
                x = outputs
                    .iter()
                    .flat_map(|&r| x[r * dim..(r + 1) * dim].iter().copied())
                    .collect();
                if x.is_empty() {
                    break;
                }
            }

            let mut h = x.clone();
            rms_norm(&mut h, &layer.ffn_norm, cfg.rms_eps);
            let acts = convert_for(&h, dim, &[&layer.gate, &layer.up]);
            let mut gate = self.matmul(&layer.gate, pick(&acts, &layer.gate));
            let up = self.matmul(&layer.up, pick(&acts, &layer.up));
            swiglu(&mut gate, &up);
            let ff_acts = ActivationRows::quantize(layer.down.ty.activation(), &gate, cfg.ff);
            add_in_place(&mut x, &self.matmul(&layer.down, &ff_acts));
        }
        cache.commit(tokens);
        Ok(x)
    }

    /// Causal grouped-query attention of the batch's queries (positions `pos0..`) over
    /// layer `layer` of the cache, computed as llama.cpp's CPU graph does without flash
    /// attention: queries rounded to f16 and dotted with the f16 keys, softmax with
    /// ggml's `expf` and f64 sum, probabilities rounded to f16 and dotted with the f16
    /// values; every f16 dot product sums in the lane order of the kernel llama.cpp
    /// picks for this batch size ([`super::kernels::f16_dot`]).
    fn attention(&self, cache: &KvCache, layer: usize, pos0: usize, q: &[f32]) -> Vec<f32> {
        let cfg = &self.config;
        let (hd, heads) = (cfg.head_dim(), cfg.heads);
        let group = heads / cfg.kv_heads;
        let scale = 1.0 / (hd as f32).sqrt();
        let (keys, values) = (cache.keys(layer), cache.values(layer));
        let row = cache.row_bytes();
        let batched = q.len() > cfg.dim;
        let round16 = |v: f32| half::f16::from_f32(v).to_f32();
        let mut out = vec![0.0f32; q.len()];
        out.par_chunks_mut(hd).enumerate().for_each(|(idx, o)| {
            let (t, h) = (idx / heads, idx % heads);
            let kv_off = (h / group) * hd * 2;
            let q16: Vec<f32> = q[idx * hd..(idx + 1) * hd]
                .iter()
                .map(|&v| round16(v))
                .collect();
            let len = pos0 + t + 1;
            let mut scores = vec![0.0f32; len];
            attention_scores(self.isa, &keys[kv_off..], row, &q16, batched, &mut scores);
            scores.iter_mut().for_each(|s| *s *= scale);
            let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let exps: Vec<f32> = scores.iter().map(|s| ggml_expf(s - max)).collect();
            let sum: f64 = exps
                .chunks(16)
                .map(|c| {
                    let mut lanes = [0.0f32; 16];
                    lanes[..c.len()].copy_from_slice(c);
                    reduce16(&lanes) as f64
                })
                .sum();
            let inv_sum = (1.0 / sum) as f32;
            let p16: Vec<f32> = exps.iter().map(|e| round16(e * inv_sum)).collect();
            attention_values(self.isa, &p16, &values[kv_off..], row, batched, o);
        });
        out
    }

    /// Final norm and output head for every row of `hidden`.
    fn logits(&self, hidden: &[f32]) -> Vec<f32> {
        if hidden.is_empty() {
            return Vec::new();
        }
        let dim = self.config.dim;
        let mut h = hidden.to_vec();
        rms_norm(&mut h, &self.weights.output_norm, self.config.rms_eps);

        let acts = ActivationRows::quantize(self.weights.output.ty.activation(), &h, dim);
        self.matmul(&self.weights.output, &acts)
    }
}

/// `x` converted once to each activation type the weights `ws` multiply with.
fn convert_for(x: &[f32], cols: usize, ws: &[&TensorRef]) -> Vec<ActivationRows> {
    let mut out: Vec<ActivationRows> = Vec::new();
    for w in ws {
        let ty = w.ty.activation();
        if !out.iter().any(|a| a.ty == ty) {
            out.push(ActivationRows::quantize(ty, x, cols));
        }
    }
    out
}

/// The converted activations matching weight `w` (present by construction of [`convert_for`]).
fn pick<'a>(acts: &'a [ActivationRows], w: &TensorRef) -> &'a ActivationRows {
    let ty = w.ty.activation();
    acts.iter()
        .find(|a| a.ty == ty)
        .expect("activations converted for every weight")
}

fn check_shapes(cfg: &LlamaConfig, w: &ModelWeights) -> Result<()> {
    let expect = |name: &str, t: &TensorRef, rows: usize, cols: usize| {
        ensure!(
            t.rows == rows && t.cols == cols,
            "{name} has shape {}×{}, expected {rows}×{cols}",
            t.rows,
            t.cols
        );
        Ok(())
    };
    expect("token_embd", &w.token_embd, cfg.vocab, cfg.dim)?;
    expect("output", &w.output, cfg.vocab, cfg.dim)?;
    ensure!(
        w.layers.len() == cfg.layers,
        "{} layers, expected {}",
        w.layers.len(),
        cfg.layers
    );
    ensure!(
        w.output_norm.len() == cfg.dim,
        "output_norm width {}, expected {}",
        w.output_norm.len(),
        cfg.dim
    );
    if let Some(f) = &w.rope_freqs {
        ensure!(
            f.len() == cfg.rope_dims / 2,
            "rope_freqs has {} entries, expected {}",
            f.len(),
            cfg.rope_dims / 2
        );
    }
    for (i, l) in w.layers.iter().enumerate() {
        let p = |s: &str| format!("blk.{i}.{s}");
        expect(&p("attn_q"), &l.wq, cfg.dim, cfg.dim)?;
        expect(&p("attn_k"), &l.wk, cfg.kv_dim(), cfg.dim)?;
        expect(&p("attn_v"), &l.wv, cfg.kv_dim(), cfg.dim)?;
        expect(&p("attn_output"), &l.wo, cfg.dim, cfg.dim)?;
        expect(&p("ffn_gate"), &l.gate, cfg.ff, cfg.dim)?;
        expect(&p("ffn_up"), &l.up, cfg.ff, cfg.dim)?;
        expect(&p("ffn_down"), &l.down, cfg.dim, cfg.ff)?;
        ensure!(
            l.attn_norm.len() == cfg.dim && l.ffn_norm.len() == cfg.dim,
            "{} norm width mismatch",
            p("attn_norm/ffn_norm")
        );
    }
    Ok(())
}
