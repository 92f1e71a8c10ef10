//! Weight matrix × batch of activation rows, split across a rayon pool by weight rows.

use rayon::prelude::*;

use super::{
    dot_panel_rows, dot_row_tokens, dot_tile_rows, has_panel_kernel, has_tile_kernel, vec_dot_in,
    ActivationRows, Batching, Isa, Q8kPanel, Q8kTile, WeightType, PANEL, TILE,
};

/// A weight matrix stored in place: `rows` rows of `cols` elements of type `ty`.
#[derive(Debug, Clone, Copy)]
pub struct Matrix<'a> {
    /// Storage type.
    pub ty: WeightType,
    /// Output features (rows).
    pub rows: usize,
    /// Input features (columns, the contiguous dimension).
    pub cols: usize,
    /// `rows × ty.row_bytes(cols)` bytes.
    pub data: &'a [u8],
}

impl Matrix<'_> {
    /// Bytes of one row.
    pub fn row_bytes(&self) -> usize {
        self.data.len() / self.rows.max(1)
    }

    /// The bytes of row `r`.
    pub fn row(&self, r: usize) -> &[u8] {
        let n = self.row_bytes();
        &self.data[r * n..(r + 1) * n]
    }
}

/// Rows of weights one task handles: large enough to amortize scheduling, small
/// enough to spread over every thread.
fn rows_per_task(rows: usize, tokens: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    let target = rows.div_ceil(threads * 4);
    let min = if tokens > 1 { 4 } else { 16 };
    target.max(min).min(rows.max(1))
}

/// `out[t][r] = W[r] · x[t]` for every token `t` of `acts` and row `r` of `w`
/// (`out` holds `acts.rows() × w.rows` floats, token-major). Runs on the current
/// rayon pool. Each output is one [`super::vec_dot_in`] bit for bit, placed by
/// [`Batching::of`] as llama.cpp's kernels would compute it, so a token's result depends
/// on its position in the batch and the batch size, never on the thread count. Where a
/// tile kernel exists ([`has_tile_kernel`]) each weight row meets [`TILE`] tokens at once.
pub fn matmul(isa: Isa, w: &Matrix<'_>, acts: &ActivationRows, out: &mut [f32]) {
    let tokens = acts.rows();
    let placed: Vec<Batching> = (0..tokens).map(|t| Batching::of(t, tokens)).collect();
    matmul_placed(isa, w, acts, &placed, out);
}

/// [`matmul`] with each token placed as `placed[t]` says rather than by its position
/// in this batch: several sequences' tokens share one pass over the weights while each
/// result equals, bit for bit, what a batch of that sequence alone would give (one
/// decoded token is `Batching::default()`, llama.cpp's GEMV).
pub fn matmul_placed(
    isa: Isa,
    w: &Matrix<'_>,
    acts: &ActivationRows,
    placed: &[Batching],
    out: &mut [f32],
) {
    let tokens = acts.rows();
    assert_eq!(acts.ty, w.ty.activation(), "activation type mismatch");
    assert_eq!(acts.cols, w.cols, "activation width mismatch");
    assert_eq!(out.len(), tokens * w.rows, "output size mismatch");
    assert_eq!(placed.len(), tokens, "one placement per token");
    let chunk = rows_per_task(w.rows, tokens);
    // AVX2 decodes faster one row at a time ([`vec_dot_in`]) than through a tile of one.
    let tiled = has_tile_kernel(isa, w.ty) && (tokens > 1 || isa == Isa::Avx512);
    let rows_of =
        |first: usize, n: usize| &w.data[first * w.row_bytes()..(first + n) * w.row_bytes()];
    let token_rows: Vec<&[u8]> = (0..tokens).map(|t| acts.row(t)).collect();
    // A batch of ggml's tiled size goes through the panel kernels where they exist.
    let paneled = tokens >= TILE && has_panel_kernel(isa, w.ty);
    let panels: Vec<Q8kPanel> = if paneled {
        token_rows
            .chunks(PANEL)
            .zip(placed.chunks(PANEL))
            .map(|(rows, placed)| Q8kPanel::new(rows, placed))
            .collect()
    } else {
        Vec::new()
    };
    let tiles: Vec<Q8kTile<'_>> = if tiled && !paneled {
        token_rows
            .chunks(TILE)
            .zip(placed.chunks(TILE))
            .map(|(rows, placed)| Q8kTile::new(rows, placed))
            .collect()
    } else {
        Vec::new()
    };
    if tokens == 1 {
        out.par_chunks_mut(chunk).enumerate().for_each(|(c, o)| {
            let first = c * chunk;
            if tiled {
                dot_tile_rows(isa, w.ty, rows_of(first, o.len()), &tiles[0], o, 1);
            } else {
                for (i, y) in o.iter_mut().enumerate() {
                    *y = vec_dot_in(isa, w.ty, w.row(first + i), acts.row(0), placed[0]);
                }
            }
        });
        return;
    }
    if paneled {
        // Each task owns a range of weight rows: the same columns of every token's row.
        let shared = DisjointColumns::new(out);
        (0..w.rows.div_ceil(chunk)).into_par_iter().for_each(|c| {
            let (first, n) = (c * chunk, chunk.min(w.rows - c * chunk));
            dot_panel_rows(isa, w.ty, rows_of(first, n), &panels, |t, i0, values| {
                // SAFETY: columns `first..first + n` belong to this task alone.
                unsafe { shared.write(t * w.rows + first + i0, values) };
            });
        });
        return;
    }
    // Row-major scratch (rows × tokens) keeps each task's output contiguous; a task's
    // weight rows stay in cache while every token (tile) passes them.
    let mut by_row = vec![0.0f32; w.rows * tokens];
    by_row
        .par_chunks_mut(chunk * tokens)
        .enumerate()
        .for_each(|(c, o)| {
            let (first, n) = (c * chunk, o.len() / tokens);
            if tiled {
                for (k, tile) in tiles.iter().enumerate() {
                    let o = &mut o[k * TILE..];
                    dot_tile_rows(isa, w.ty, rows_of(first, n), tile, o, tokens);
                }
            } else {
                for (i, ys) in o.chunks_exact_mut(tokens).enumerate() {
                    dot_row_tokens(isa, w.ty, w.row(first + i), &token_rows, placed, ys);
                }
            }
        });
    // Token-major output, TILE tokens per task: each weight row's TILE results are
    // contiguous in `by_row` and land in TILE sequential output streams.
    out.par_chunks_mut(TILE * w.rows)
        .enumerate()
        .for_each(|(k, o)| {
            let (t0, n) = (k * TILE, o.len() / w.rows);
            for (r, ys) in by_row.chunks_exact(tokens).enumerate() {
                for (t, y) in ys[t0..t0 + n].iter().enumerate() {
                    o[t * w.rows + r] = *y;
                }
            }
        });
}

/// A token-major output written by parallel tasks that each own some of its columns.
struct DisjointColumns<'a> {
    ptr: *mut f32,
    len: usize,
    _out: std::marker::PhantomData<&'a mut [f32]>,
}

// SAFETY: tasks write disjoint elements (`write`'s contract) of a buffer that outlives them.
unsafe impl Sync for DisjointColumns<'_> {}

impl<'a> DisjointColumns<'a> {
    /// Shares `out` for the lifetime of its borrow.
    fn new(out: &'a mut [f32]) -> Self {
        Self {
            ptr: out.as_mut_ptr(),
            len: out.len(),
            _out: std::marker::PhantomData,
        }
    }

    /// Writes `values` from `index` on.
    ///
    /// # Safety
    /// No other task reads or writes those elements while the buffer is shared.
    unsafe fn write(&self, index: usize, values: &[f32]) {
        assert!(
            index + values.len() <= self.len,
            "output index out of range"
        );
        std::ptr::copy_nonoverlapping(values.as_ptr(), self.ptr.add(index), values.len());
    }
}
