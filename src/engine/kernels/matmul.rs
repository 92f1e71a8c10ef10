//! Weight matrix × batch of activation rows, split across a rayon pool by weight rows.

use rayon::prelude::*;

use super::{vec_dot_in, ActivationRows, Batching, Isa, WeightType};

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
/// rayon pool. Each output is one [`super::vec_dot_in`] placed by [`Batching::of`]
/// as llama.cpp's kernels would compute it, so a token's result depends on its
/// position in the batch and the batch size, never on the thread count.
pub fn matmul(isa: Isa, w: &Matrix<'_>, acts: &ActivationRows, out: &mut [f32]) {
    let tokens = acts.rows();
    assert_eq!(acts.ty, w.ty.activation(), "activation type mismatch");
    assert_eq!(acts.cols, w.cols, "activation width mismatch");
    assert_eq!(out.len(), tokens * w.rows, "output size mismatch");
    let chunk = rows_per_task(w.rows, tokens);
    if tokens == 1 {
        out.par_chunks_mut(chunk).enumerate().for_each(|(c, o)| {
            for (i, y) in o.iter_mut().enumerate() {
                *y = vec_dot_in(
                    isa,
                    w.ty,
                    w.row(c * chunk + i),
                    acts.row(0),
                    Batching::of(0, 1),
                );
            }
        });
        return;
    }
    // Row-major scratch (rows × tokens) keeps each task's output contiguous; a weight
    // row is read once and dotted with every token while it is in cache.
    let mut by_row = vec![0.0f32; w.rows * tokens];
    by_row
        .par_chunks_mut(chunk * tokens)
        .enumerate()
        .for_each(|(c, o)| {
            for (i, ys) in o.chunks_exact_mut(tokens).enumerate() {
                let row = w.row(c * chunk + i);
                for (t, y) in ys.iter_mut().enumerate() {
                    *y = vec_dot_in(isa, w.ty, row, acts.row(t), Batching::of(t, tokens));
                }
            }
        });
    for (r, ys) in by_row.chunks_exact(tokens).enumerate() {
        for (t, y) in ys.iter().enumerate() {
            out[t * w.rows + r] = *y;
        }
    }
}
