//! The Llama forward pass on a batch of tokens: embeddings, RMSNorm, RoPE,
//! grouped-query attention over the f16 KV cache, SwiGLU feed-forward, output head.

use anyhow::{ensure, Context, Result};
use rayon::prelude::*;

use super::config::LlamaConfig;
use super::kernels::{matmul, ActivationRows, Isa};
use super::kv_cache::KvCache;
use super::ops::{add_in_place, ggml_expf, reduce16, rms_norm, swiglu};
use super::rope::Rope;
use super::weights::{ModelWeights, TensorRef};

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
    /// picks for this batch size ([`HeadAttention`]).
    fn attention(&self, cache: &KvCache, layer: usize, pos0: usize, q: &[f32]) -> Vec<f32> {
        let cfg = &self.config;
        let (hd, heads, kv_dim) = (cfg.head_dim(), cfg.heads, cfg.kv_dim());
        let group = heads / cfg.kv_heads;
        let decode = |bytes: &[u8]| -> Vec<f32> {
            use half::slice::{HalfBitsSliceExt, HalfFloatSliceExt};
            let bits: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .collect();
            let mut out = vec![0.0f32; bits.len()];
            // F16C when the CPU has it (detected at run time by `half`).
            bits.reinterpret_cast::<half::f16>()
                .convert_to_f32_slice(&mut out);
            out
        };
        let (keys, values) = (decode(cache.keys(layer)), decode(cache.values(layer)));
        let head = HeadAttention {
            keys: &keys,
            values: &values,
            kv_dim,
            head_dim: hd,
            scale: 1.0 / (hd as f32).sqrt(),
            lanes: if q.len() > cfg.dim { 16 } else { 64 },
        };
        let mut out = vec![0.0f32; q.len()];
        out.par_chunks_mut(hd).enumerate().for_each(|(idx, o)| {
            let (t, h) = (idx / heads, idx % heads);
            let q16: Vec<f32> = q[idx * hd..(idx + 1) * hd]
                .iter()
                .map(|&v| half::f16::from_f32(v).to_f32())
                .collect();
            let (offset, len) = ((h / group) * hd, pos0 + t + 1);
            match self.isa {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `Isa::Avx2` is only chosen on CPUs with AVX2 and FMA (Isa::detect).
                Isa::Avx2 => unsafe { head.run_fma(&q16, offset, len, o) },
                _ => head.run(&q16, offset, len, o),
            }
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

/// One head's attention over f32 copies of the f16 cache, in ggml's float order.
///
/// Every f16 dot product sums into `lanes` FMA accumulators, term `i` into lane
/// `i mod lanes`, as the kernel llama.cpp's x86 AVX-512 build picks: tinyBLAS for a
/// batch of two or more tokens (16 lanes, then `_mm512_reduce_add_ps`), and
/// `ggml_vec_dot_f16` for one token (64 lanes: four 16-wide accumulators folded
/// pairwise, then reduced). The K/V axis is padded to 256 positions in llama.cpp, so
/// every term lands in a lane and the padding adds exact zeros.
struct HeadAttention<'a> {
    keys: &'a [f32],
    values: &'a [f32],
    kv_dim: usize,
    head_dim: usize,
    scale: f32,
    lanes: usize,
}

impl<'a> HeadAttention<'a> {
    /// [`Self::run`] compiled with AVX2 and FMA instructions.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_fma(&self, q16: &[f32], offset: usize, len: usize, out: &mut [f32]) {
        self.run(q16, offset, len, out)
    }

    /// Writes into `out` the attention of query `q16` (already rounded to f16) over
    /// positions `0..len` of the key/value head starting at column `offset`.
    #[inline(always)]
    fn run(&self, q16: &[f32], offset: usize, len: usize, out: &mut [f32]) {
        let hd = self.head_dim;
        let row = |m: &'a [f32], j: usize| -> &'a [f32] {
            &m[j * self.kv_dim + offset..j * self.kv_dim + offset + hd]
        };
        // Plain loops: closures would not inherit `run_fma`'s target features.
        let mut exps = Vec::with_capacity(len);
        let mut max = f32::NEG_INFINITY;
        for j in 0..len {
            let score = dot_f16(row(self.keys, j), q16, self.lanes) * self.scale;
            max = max.max(score);
            exps.push(score);
        }
        for e in exps.iter_mut() {
            *e = ggml_expf(*e - max);
        }
        let mut sum = 0.0f64;
        for c in exps.chunks(16) {
            let mut lanes = [0.0f32; 16];
            lanes[..c.len()].copy_from_slice(c);
            sum += reduce16(&lanes) as f64;
        }
        let inv_sum = (1.0 / sum) as f32;
        // acc[lane][d]: position j adds p_j · v_j[d] to lane j mod lanes.
        let mut acc = vec![0.0f32; self.lanes * hd];
        for (j, e) in exps.iter().enumerate() {
            let p = half::f16::from_f32(e * inv_sum).to_f32();
            let lane = &mut acc[(j % self.lanes) * hd..(j % self.lanes + 1) * hd];
            for (a, v) in lane.iter_mut().zip(row(self.values, j)) {
                *a = p.mul_add(*v, *a);
            }
        }
        let mut column = vec![0.0f32; self.lanes];
        for (d, o) in out.iter_mut().enumerate() {
            for (l, c) in column.iter_mut().enumerate() {
                *c = acc[l * hd + d];
            }
            *o = reduce_lanes(&column);
        }
    }
}

/// `Σ a_i·b_i` of two f16-valued rows in the order of the kernel with `lanes` lanes
/// (16: tinyBLAS, which needs a multiple of 16 terms and otherwise leaves the work to
/// `ggml_vec_dot_f16`; 64: `ggml_vec_dot_f16`, which adds the terms after the last
/// multiple of 64 one by one in f64).
#[inline(always)]
fn dot_f16(a: &[f32], b: &[f32], lanes: usize) -> f32 {
    let lanes = if lanes == 16 && a.len() % 16 == 0 {
        16
    } else {
        64
    };
    let whole = if lanes == 16 { a.len() } else { a.len() & !63 };
    let mut acc = [0.0f32; 64];
    let acc_lanes = &mut acc[..lanes];
    for (xs, ys) in a[..whole]
        .chunks_exact(lanes)
        .zip(b[..whole].chunks_exact(lanes))
    {
        for ((s, x), y) in acc_lanes.iter_mut().zip(xs).zip(ys) {
            *s = x.mul_add(*y, *s);
        }
    }
    let tail: f64 = a[whole..]
        .iter()
        .zip(&b[whole..])
        .map(|(x, y)| (x * y) as f64)
        .sum();
    (reduce_lanes(&acc[..lanes]) as f64 + tail) as f32
}

/// The sum of 16 or 64 lane accumulators in the kernel's order (64: four 16-wide
/// vectors folded as `(v0 + v2) + (v1 + v3)` first).
#[inline(always)]
fn reduce_lanes(acc: &[f32]) -> f32 {
    if acc.len() == 16 {
        return reduce16(acc.try_into().expect("16 lanes"));
    }
    let folded: [f32; 16] =
        std::array::from_fn(|l| (acc[l] + acc[32 + l]) + (acc[16 + l] + acc[48 + l]));
    reduce16(&folded)
}
