//! The forward pass on a batch of tokens, for every [`Architecture`]: embeddings,
//! RMSNorm, RoPE, grouped-query attention over the f16 KV cache (causal, or within a
//! sliding window), the gated feed-forward, the output head.

use anyhow::{ensure, Context, Result};
use rayon::prelude::*;

use super::arch::{Activation, Architecture, LayerAttention};
use super::kernels::{
    attention_scores, attention_values, matmul_placed, ActivationRows, Batching, Isa,
};
use super::kv_cache::KvCache;
use super::lora::{LayerLora, LoraAdapter, LoraPair};
use super::ops::{add_in_place, geglu, ggml_expf_in_place, reduce16, rms_norm, swiglu};
use super::rope::{Rope, RopeAngles};
use super::weights::{LayerWeights, ModelWeights, TensorRef};

/// Tokens processed per forward step during prefill (llama.cpp's default micro-batch).
pub const PREFILL_CHUNK: usize = 512;

/// Key positions by which the lanes of ggml's f16 dot products repeat (64 for one
/// token, 16 for a batch): a sliding window's first visible key is rounded down to a
/// multiple of it so that every product keeps its lane.
const LANE_PERIOD: usize = 64;

/// A loaded model ready to run, with its own thread pool.
pub struct Model {
    arch: Architecture,
    weights: ModelWeights,
    ropes: Vec<Rope>,
    attention: Vec<LayerAttention>,
    isa: Isa,
    pool: rayon::ThreadPool,
    lora: Option<LoraAdapter>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("arch", &self.arch)
            .field("isa", &self.isa)
            .field("threads", &self.threads())
            .finish_non_exhaustive()
    }
}

impl Model {
    /// Checks the weights against the shape and starts a pool of `threads` workers.
    pub fn new(
        arch: Architecture,
        weights: ModelWeights,
        threads: usize,
        isa: Isa,
    ) -> Result<Self> {
        arch.validate()?;
        weights.validate()?;
        check_shapes(&arch, &weights)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build()
            .context("cannot start the inference thread pool")?;
        let ropes = arch.ropes(weights.rope_freqs.clone());
        let attention = (0..arch.layers())
            .map(|l| arch.layer_attention(l))
            .collect();
        Ok(Self {
            arch,
            weights,
            ropes,
            attention,
            isa,
            pool,
            lora: None,
        })
    }

    /// The model with `adapter` applied at run time (its blocks must be this model's).
    pub fn with_lora(mut self, adapter: LoraAdapter) -> Result<Self> {
        ensure!(
            adapter.layers.len() == self.arch.layers(),
            "the adapter has {} blocks, the model {}",
            adapter.layers.len(),
            self.arch.layers()
        );
        self.lora = Some(adapter);
        Ok(self)
    }

    /// The LoRA adapter applied at run time, if any.
    pub fn lora(&self) -> Option<&LoraAdapter> {
        self.lora.as_ref()
    }

    /// The architecture and its hyper-parameters.
    pub fn architecture(&self) -> &Architecture {
        &self.arch
    }

    /// Vocabulary size (width of the logits).
    pub fn vocab(&self) -> usize {
        self.arch.vocab()
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
        KvCache::new(self.arch.layers(), self.arch.kv_dim())
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
        self.check_input(cache, tokens)?;
        let vocab = self.arch.vocab();
        let mut logits = Vec::with_capacity(logits_at.len() * vocab);
        for (c, chunk) in tokens.chunks(PREFILL_CHUNK).enumerate() {
            let start = c * PREFILL_CHUNK;
            let wanted: Vec<usize> = logits_at
                .iter()
                .filter(|&&i| i >= start && i < start + chunk.len())
                .map(|i| i - start)
                .collect();
            let mut segments = [Segment {
                cache: &mut *cache,
                tokens: chunk,
                outputs: wanted,
            }];
            logits.extend(self.pool.install(|| self.run_segments(&mut segments))?);
        }
        Ok(logits)
    }

    /// One decoding step of several sequences at once: `tokens[i]` follows the cached
    /// positions of `caches[i]`. Returns each sequence's next-token logits (`vocab`
    /// floats each, in order), bit for bit what [`Model::forward`] of that token alone
    /// would return, while every weight matrix is read once for the whole batch.
    pub fn forward_batch(&self, caches: &mut [&mut KvCache], tokens: &[u32]) -> Result<Vec<f32>> {
        ensure!(
            caches.len() == tokens.len(),
            "{} caches for {} tokens",
            caches.len(),
            tokens.len()
        );
        for (cache, t) in caches.iter().zip(tokens) {
            self.check_input(cache, std::slice::from_ref(t))?;
        }
        let mut segments: Vec<Segment<'_>> = caches
            .iter_mut()
            .zip(tokens)
            .map(|(cache, t)| Segment {
                cache,
                tokens: std::slice::from_ref(t),
                outputs: vec![0],
            })
            .collect();
        self.pool.install(|| self.run_segments(&mut segments))
    }

    /// Checks that `tokens` fit after `cache` in the context and lie in the vocabulary.
    fn check_input(&self, cache: &KvCache, tokens: &[u32]) -> Result<()> {
        let (context, vocab) = (self.arch.context(), self.arch.vocab());
        ensure!(
            cache.len() + tokens.len() <= context,
            "sequence of {} tokens exceeds the model context of {context}",
            cache.len() + tokens.len(),
        );
        if let Some(bad) = tokens.iter().find(|&&t| t as usize >= vocab) {
            anyhow::bail!("token id {bad} is outside the vocabulary of {vocab}");
        }
        Ok(())
    }

    /// The logits of every segment's outputs, in segment order.
    fn run_segments(&self, segments: &mut [Segment<'_>]) -> Result<Vec<f32>> {
        let (hidden, outputs) = self.forward_segments(segments)?;
        Ok(self.logits(&hidden, &outputs))
    }

    fn matmul(&self, w: &TensorRef, acts: &ActivationRows, rows: &Rows) -> Vec<f32> {
        let m = self.weights.matrix(w);
        let mut out = vec![0.0; acts.rows() * m.rows];
        matmul_placed(self.isa, &m, acts, &rows.placed, &mut out);
        out
    }

    /// `w·x` from the converted activations `acts` of the f32 rows `x`, plus the
    /// adapter's update of `w` when there is one.
    fn project(
        &self,
        w: &TensorRef,
        lora: Option<&LoraPair>,
        acts: &ActivationRows,
        rows: &Rows,
        x: &[f32],
    ) -> Vec<f32> {
        let mut out = self.matmul(w, acts, rows);
        if let Some(pair) = lora {
            pair.add_to(x, &mut out);
        }
        out
    }

    /// Block `l`'s adapter projections, if an adapter is applied.
    fn layer_lora(&self, l: usize) -> Option<&LayerLora> {
        self.lora.as_ref().map(|a| &a.layers[l])
    }

    /// Runs every segment through every layer (their tokens as rows of one batch, each
    /// placed and attended as in a batch of its segment alone); returns the final hidden
    /// states (not yet normed) of the segments' outputs and how those rows are placed.
    /// Like llama.cpp, the last layer's feed-forward runs only on those rows (which also
    /// decides their GEMM/GEMV kernel order).
    fn forward_segments(&self, segments: &mut [Segment<'_>]) -> Result<(Vec<f32>, Rows)> {
        let arch = &self.arch;
        let dim = arch.dim();
        let mut rows = Rows::of(segments.iter().map(|s| (s.cache.len(), s.tokens.len())));
        let tokens = segments.iter().flat_map(|s| s.tokens.iter());
        let mut x = vec![0.0f32; rows.len() * dim];
        for (row, &t) in x.chunks_exact_mut(dim).zip(tokens) {
            self.weights.embedding(t as usize, row)?;
        }
        if let Some(scale) = arch.embedding_scale() {
            x.iter_mut().for_each(|v| *v *= scale);
        }
        let angles: Vec<Vec<RopeAngles>> = self
            .ropes
            .iter()
            .map(|rope| rows.positions().map(|p| rope.angles(p)).collect())
            .collect();
        for (l, layer) in self.weights.layers.iter().enumerate() {
            let mut attn = self.attention_block(segments, &rows, l, layer, &angles, &x);
            if l + 1 == arch.layers() {
                let (kept, outputs) = rows.outputs(segments.iter().map(|s| &s.outputs[..]));
                x = select_rows(&x, dim, &kept);
                attn = select_rows(&attn, dim, &kept);
                rows = outputs;
                if x.is_empty() {
                    break;
                }
            }
            if let Some(norms) = &layer.sandwich {
                rms_norm(&mut attn, &norms.post_attention, arch.rms_eps());
            }
            add_in_place(&mut x, &attn);
            let mut ff = self.feed_forward(layer, self.layer_lora(l), &rows, &x);
            if let Some(norms) = &layer.sandwich {
                rms_norm(&mut ff, &norms.post_ffw, arch.rms_eps());
            }
            add_in_place(&mut x, &ff);
        }
        for segment in segments.iter_mut() {
            segment.cache.commit(segment.tokens);
        }
        Ok((x, rows))
    }

    /// Layer `l`'s attention output (after its output projection) for the rows of `x`
    /// (each segment's rows after its cached positions), appending their keys and values
    /// to their segment's cache.
    fn attention_block(
        &self,
        segments: &mut [Segment<'_>],
        rows: &Rows,
        l: usize,
        layer: &LayerWeights,
        angles: &[Vec<RopeAngles>],
        x: &[f32],
    ) -> Vec<f32> {
        let arch = &self.arch;
        let (dim, eps) = (arch.dim(), arch.rms_eps());
        let (q_dim, kv_dim, hd) = (arch.q_dim(), arch.kv_dim(), arch.head_dim());
        let mut h = x.to_vec();
        rms_norm(&mut h, &layer.attn_norm, eps);
        let acts = convert_for(&h, dim, &[&layer.wq, &layer.wk, &layer.wv]);
        let lora = self.layer_lora(l);
        let mut q = self.project(
            &layer.wq,
            lora.and_then(|a| a.wq.as_ref()),
            pick(&acts, &layer.wq),
            rows,
            &h,
        );
        let mut k = self.project(
            &layer.wk,
            lora.and_then(|a| a.wk.as_ref()),
            pick(&acts, &layer.wk),
            rows,
            &h,
        );
        let v = self.project(
            &layer.wv,
            lora.and_then(|a| a.wv.as_ref()),
            pick(&acts, &layer.wv),
            rows,
            &h,
        );
        if let Some(norms) = &layer.sandwich {
            rms_norm(&mut q, &norms.q_norm, eps);
            rms_norm(&mut k, &norms.k_norm, eps);
        }
        let how = self.attention[l];
        let rope = &self.ropes[how.rope];
        for (i, a) in angles[how.rope].iter().enumerate() {
            rope.apply(a, &mut q[i * q_dim..(i + 1) * q_dim], hd);
            rope.apply(a, &mut k[i * kv_dim..(i + 1) * kv_dim], hd);
        }
        let (query_scale, score_scale) = arch.attention_scales();
        if let Some(scale) = query_scale {
            q.iter_mut().for_each(|v| *v *= scale);
        }
        let mut first = 0;
        for (segment, &(_, n)) in segments.iter_mut().zip(&rows.segments) {
            let (from, to) = (first * kv_dim, (first + n) * kv_dim);
            segment.cache.append_layer(l, &k[from..to], &v[from..to]);
            first += n;
        }
        let caches: Vec<&KvCache> = segments.iter().map(|s| &*s.cache).collect();
        let attn = self.attention(&caches, rows, l, &q, how.window, score_scale);
        let attn_acts = ActivationRows::quantize(layer.wo.ty.activation(), &attn, q_dim);
        self.project(
            &layer.wo,
            lora.and_then(|a| a.wo.as_ref()),
            &attn_acts,
            rows,
            &attn,
        )
    }

    /// The gated feed-forward of the rows of `x` (its pre-norm included), with the
    /// block's adapter projections `lora`.
    fn feed_forward(
        &self,
        layer: &LayerWeights,
        lora: Option<&LayerLora>,
        rows: &Rows,
        x: &[f32],
    ) -> Vec<f32> {
        let arch = &self.arch;
        let mut h = x.to_vec();
        rms_norm(&mut h, &layer.ffn_norm, arch.rms_eps());
        let acts = convert_for(&h, arch.dim(), &[&layer.gate, &layer.up]);
        let mut gate = self.project(
            &layer.gate,
            lora.and_then(|a| a.gate.as_ref()),
            pick(&acts, &layer.gate),
            rows,
            &h,
        );
        let up = self.project(
            &layer.up,
            lora.and_then(|a| a.up.as_ref()),
            pick(&acts, &layer.up),
            rows,
            &h,
        );
        match arch.activation() {
            Activation::SwiGlu => swiglu(&mut gate, &up),
            Activation::GeGlu => geglu(&mut gate, &up),
        }
        let ff_acts = ActivationRows::quantize(layer.down.ty.activation(), &gate, arch.ff());
        self.project(
            &layer.down,
            lora.and_then(|a| a.down.as_ref()),
            &ff_acts,
            rows,
            &gate,
        )
    }

    /// Grouped-query attention of each row's query over layer `layer` of its segment's
    /// cache (`caches`, one per segment), causal and,
    /// with a `window`, limited to the last `window` positions, computed as
    /// llama.cpp's CPU graph does without flash attention: queries rounded to f16 and
    /// dotted with the f16 keys, scores × `score_scale`, softmax with ggml's `expf` and
    /// f64 sum, probabilities rounded to f16 and dotted with the f16 values; every f16
    /// dot product sums in the lane order of the kernel llama.cpp picks for this batch
    /// size ([`super::kernels::f16_dot`]). Keys outside the window are masked as
    /// llama.cpp masks them: they add nothing, and every other product keeps its lane.
    fn attention(
        &self,
        caches: &[&KvCache],
        rows: &Rows,
        layer: usize,
        q: &[f32],
        window: Option<usize>,
        score_scale: f32,
    ) -> Vec<f32> {
        let arch = &self.arch;
        let (hd, heads) = (arch.head_dim(), arch.heads());
        let group = heads / arch.kv_heads();
        let places = rows.places();
        let round16 = |v: f32| half::f16::from_f32(v).to_f32();
        let mut out = vec![0.0f32; q.len()];
        out.par_chunks_mut(hd).enumerate().for_each(|(idx, o)| {
            let ((segment, t), h) = (places[idx / heads], idx % heads);
            let (pos0, n) = rows.segments[segment];
            let cache = caches[segment];
            let (keys, values) = (cache.keys(layer), cache.values(layer));
            let row = cache.row_bytes();
            // The lane order llama.cpp picks for a batch of this segment's size.
            let batched = n > 1;
            let kv_off = (h / group) * hd * 2;
            let q16: Vec<f32> = q[idx * hd..(idx + 1) * hd]
                .iter()
                .map(|&v| round16(v))
                .collect();
            let len = pos0 + t + 1;
            let first = window.map_or(0, |w| len.saturating_sub(w));
            let start = first - first % LANE_PERIOD;
            let mut scores = vec![0.0f32; len - start];
            let visible = &mut scores[first - start..];
            attention_scores(
                self.isa,
                &keys[kv_off + first * row..],
                row,
                &q16,
                batched,
                visible,
            );
            visible.iter_mut().for_each(|s| *s *= score_scale);
            let max = visible.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            visible.iter_mut().for_each(|s| *s -= max);
            ggml_expf_in_place(visible);
            let exps = scores;
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
            attention_values(
                self.isa,
                &p16,
                &values[kv_off + start * row..],
                row,
                batched,
                o,
            );
        });
        out
    }

    /// Final norm and output head for every row of `hidden` (placed as `rows` says).
    fn logits(&self, hidden: &[f32], rows: &Rows) -> Vec<f32> {
        if hidden.is_empty() {
            return Vec::new();
        }
        let dim = self.arch.dim();
        let mut h = hidden.to_vec();
        rms_norm(&mut h, &self.weights.output_norm, self.arch.rms_eps());

        let acts = ActivationRows::quantize(self.weights.output.ty.activation(), &h, dim);
        self.matmul(&self.weights.output, &acts, rows)
    }
}

/// One sequence's part of a forward step: its cache, the tokens that follow the cached
/// positions, and which of them (indices into `tokens`) want logits.
struct Segment<'a> {
    cache: &'a mut KvCache,
    tokens: &'a [u32],
    outputs: Vec<usize>,
}

/// The rows of a forward step, segment after segment: where each segment starts and
/// how llama.cpp would place each row in a batch of its segment alone.
struct Rows {
    /// Per segment: its cached positions before this step, and its number of rows.
    segments: Vec<(usize, usize)>,
    /// Per row: its placement ([`Batching::of`] within its segment).
    placed: Vec<Batching>,
}

impl Rows {
    /// Rows of segments given as (cached positions, rows).
    fn of(segments: impl Iterator<Item = (usize, usize)>) -> Self {
        let segments: Vec<(usize, usize)> = segments.collect();
        let placed = segments
            .iter()
            .flat_map(|&(_, n)| (0..n).map(move |t| Batching::of(t, n)))
            .collect();
        Self { segments, placed }
    }

    /// Number of rows.
    fn len(&self) -> usize {
        self.placed.len()
    }

    /// Each row's position in its sequence.
    fn positions(&self) -> impl Iterator<Item = usize> + '_ {
        self.segments.iter().flat_map(|&(pos0, n)| pos0..pos0 + n)
    }

    /// Each row's segment and index within it.
    fn places(&self) -> Vec<(usize, usize)> {
        self.segments
            .iter()
            .enumerate()
            .flat_map(|(s, &(_, n))| (0..n).map(move |t| (s, t)))
            .collect()
    }

    /// The rows each segment wants (`outputs`, indices within the segment, one list per
    /// segment) as indices into these rows, and the rows they make as a batch of their own.
    fn outputs<'a>(&self, outputs: impl Iterator<Item = &'a [usize]>) -> (Vec<usize>, Rows) {
        let mut kept = Vec::new();
        let mut first = 0;
        let mut segments = Vec::with_capacity(self.segments.len());
        for (&(pos0, n), wanted) in self.segments.iter().zip(outputs) {
            kept.extend(wanted.iter().map(|&t| first + t));
            segments.push((pos0, wanted.len()));
            first += n;
        }
        (kept, Rows::of(segments.into_iter()))
    }
}

/// The rows `rows` of `x` (`cols` wide), in that order.
fn select_rows(x: &[f32], cols: usize, rows: &[usize]) -> Vec<f32> {
    rows.iter()
        .flat_map(|&r| x[r * cols..(r + 1) * cols].iter().copied())
        .collect()
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

fn check_shapes(arch: &Architecture, w: &ModelWeights) -> Result<()> {
    let expect = |name: &str, t: &TensorRef, rows: usize, cols: usize| {
        ensure!(
            t.rows == rows && t.cols == cols,
            "{name} has shape {}×{}, expected {rows}×{cols}",
            t.rows,
            t.cols
        );
        Ok(())
    };
    let width = |name: &str, v: &[f32], n: usize| {
        ensure!(v.len() == n, "{name} has width {}, expected {n}", v.len());
        Ok(())
    };
    let (vocab, dim, ff) = (arch.vocab(), arch.dim(), arch.ff());
    let (q_dim, kv_dim, hd) = (arch.q_dim(), arch.kv_dim(), arch.head_dim());
    expect("token_embd", &w.token_embd, vocab, dim)?;
    expect("output", &w.output, vocab, dim)?;
    ensure!(
        w.layers.len() == arch.layers(),
        "{} layers, expected {}",
        w.layers.len(),
        arch.layers()
    );
    width("output_norm", &w.output_norm, dim)?;
    if let (Architecture::Llama(c), Some(f)) = (arch, &w.rope_freqs) {
        width("rope_freqs", f, c.rope_dims / 2)?;
    }
    for (i, l) in w.layers.iter().enumerate() {
        let p = |s: &str| format!("blk.{i}.{s}");
        expect(&p("attn_q"), &l.wq, q_dim, dim)?;
        expect(&p("attn_k"), &l.wk, kv_dim, dim)?;
        expect(&p("attn_v"), &l.wv, kv_dim, dim)?;
        expect(&p("attn_output"), &l.wo, dim, q_dim)?;
        expect(&p("ffn_gate"), &l.gate, ff, dim)?;
        expect(&p("ffn_up"), &l.up, ff, dim)?;
        expect(&p("ffn_down"), &l.down, dim, ff)?;
        width(&p("attn_norm"), &l.attn_norm, dim)?;
        width(&p("ffn_norm"), &l.ffn_norm, dim)?;
        match (&l.sandwich, arch.has_sandwich_norms()) {
            (Some(n), true) => {
                width(&p("attn_q_norm"), &n.q_norm, hd)?;
                width(&p("attn_k_norm"), &n.k_norm, hd)?;
                width(&p("post_attention_norm"), &n.post_attention, dim)?;
                width(&p("post_ffw_norm"), &n.post_ffw, dim)?;
            }
            (None, false) => {}
            (None, true) => anyhow::bail!("tensor {} is missing", p("attn_q_norm.weight")),
            (Some(_), false) => anyhow::bail!(
                "{} has Gemma norms ({}), which a {} model does not use",
                p(""),
                p("attn_q_norm.weight"),
                arch.name()
            ),
        }
    }
    Ok(())
}
