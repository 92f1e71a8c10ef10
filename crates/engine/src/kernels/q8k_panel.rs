//! Q8_K activations of up to [`PANEL`] tokens arranged for the panel kernels, which
//! multiply a few decoded weight rows with every token of the panel, one token per
//! 32-bit lane: a weight's four quants are broadcast to all lanes and meet each
//! token's four activation quants in one `vpdpbusd`, so no sum is ever reduced
//! across lanes and the float side runs for all tokens in one vector.
//!
//! Per block a panel holds the quants as `[quad][token]` (the four quants
//! `4q..4q + 4` of token `t` as one `u32`), each token's scale `d`, and its 16
//! group sums as 8 packed pairs (`[pair][token]`, as in [`super::Q8kTile`]).

use super::q8k_tile::{batch_flags, sum_pair};
use super::{f32_at, Batching, Q8K_BLOCK_BYTES, QK_K};
use okla_formats::quant::q8_k::QS_OFFSET;

/// Tokens per panel: one per 32-bit lane of a 512-bit vector.
pub const PANEL: usize = 16;

/// Groups of four quants in a Q8_K block.
pub(super) const QUADS: usize = QK_K / 4;

/// Up to [`PANEL`] Q8_K activation rows of the same width, transposed token-last.
#[derive(Debug, Clone)]
pub struct Q8kPanel {
    len: usize,
    /// `[block][quad][token]`: quants `4q..4q + 4` of token `t`, little-endian.
    pub(super) quads: Vec<[[u32; PANEL]; QUADS]>,
    /// `[block][pair][token]`: group sums `2p` (low 16 bits) and `2p + 1` (high 16 bits).
    pub(super) sum_pairs: Vec<[[i32; PANEL]; 8]>,
    /// `[block][token]`: the Q8_K scale `d` (0 for lanes past the last token).
    pub(super) scales: Vec<[f32; PANEL]>,
    /// Bit `t` set: token `t` belongs to a group of four (ggml's GEMM float order).
    pub(super) grouped: u32,
    /// The tokens' batch goes through ggml's tiled K-quant matmul ([`Batching::tiled`]).
    pub(super) tiled: bool,
}

impl Q8kPanel {
    /// A panel of the Q8_K rows `rows` (1 to [`PANEL`] rows of equal length), token
    /// `t` placed in its batch as `placed[t]` says (all tokens of one batch).
    pub fn new(rows: &[&[u8]], placed: &[Batching]) -> Self {
        assert!(
            (1..=PANEL).contains(&rows.len()),
            "a panel holds 1 to {PANEL} tokens"
        );
        let (grouped, tiled) = batch_flags(rows.len(), placed);
        let blocks = rows[0].len() / Q8K_BLOCK_BYTES;
        let mut quads = vec![[[0u32; PANEL]; QUADS]; blocks];
        let mut sum_pairs = vec![[[0i32; PANEL]; 8]; blocks];
        let mut scales = vec![[0f32; PANEL]; blocks];
        for (t, row) in rows.iter().enumerate() {
            assert_eq!(row.len(), rows[0].len(), "panel rows differ in width");
            for (b, block) in row.chunks_exact(Q8K_BLOCK_BYTES).enumerate() {
                scales[b][t] = f32_at(block);
                let qs = &block[QS_OFFSET..QS_OFFSET + QK_K];
                for (q, quad) in qs.chunks_exact(4).enumerate() {
                    quads[b][q][t] = u32::from_le_bytes([quad[0], quad[1], quad[2], quad[3]]);
                }
                for (p, pair) in sum_pairs[b].iter_mut().enumerate() {
                    pair[t] = sum_pair(block, p);
                }
            }
        }
        Self {
            len: rows.len(),
            quads,
            sum_pairs,
            scales,
            grouped,
            tiled,
        }
    }

    /// Tokens in the panel.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the panel is empty (never, by construction).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Q8_K blocks per token row.
    pub fn blocks(&self) -> usize {
        self.scales.len()
    }
}
