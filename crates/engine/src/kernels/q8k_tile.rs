//! Q8_K activations of up to [`TILE`] tokens arranged for the tile kernels, which
//! multiply one weight row with every token of the tile while its blocks are decoded.
//!
//! Besides the tokens' rows, a tile holds per block the parts the kernels combine
//! across tokens in one vector: each token's scale `d` and its 16 group sums as 8
//! packed pairs (`[block][pair][token]`, the even group in the low 16 bits, as in the
//! Q8_K block itself), so a row's Q4_K mins are one `madd` per pair for all tokens;
//! the quants reordered for the Q4_K kernel (each 64-byte chunk `c` holds elements
//! `64j + 16c ..+16` of the four 64-weight groups `j`, one per 128-bit lane); and
//! where the tokens sit in their batch ([`Batching`], see [`super::vec_dot_in`]).

use super::{f32_at, Batching, Q8K_BLOCK_BYTES};
use okla_formats::quant::q8_k::BSUMS_OFFSET;

/// Tokens per tile.
pub const TILE: usize = 8;

/// Up to [`TILE`] Q8_K activation rows of the same width, with their per-block
/// scales and group sums transposed token-last.
#[derive(Debug, Clone)]
pub struct Q8kTile<'a> {
    rows: Vec<&'a [u8]>,
    /// `[block][pair][token]`: group sums `2p` (low 16 bits) and `2p + 1` (high 16 bits).
    pub(super) sum_pairs: Vec<[[i32; TILE]; 8]>,
    /// `[block][token]`: the Q8_K scale `d` (0 for lanes past the last token).
    pub(super) scales: Vec<[f32; TILE]>,
    /// `[block][token]`: the 256 quants in the Q4_K kernel's order (see the module doc).
    pub(super) lanes: Vec<[[u8; 256]; TILE]>,
    /// Bit `t` set: token `t` belongs to a group of four (ggml's GEMM float order).
    pub(super) grouped: u32,
    /// The tokens' batch goes through ggml's tiled K-quant matmul ([`Batching::tiled`]).
    pub(super) tiled: bool,
}

impl<'a> Q8kTile<'a> {
    /// A tile of the Q8_K rows `rows` (1 to [`TILE`] rows of equal length), token `t`
    /// placed in its batch as `placed[t]` says (all tokens of one batch, so all tiled
    /// or none).
    pub fn new(rows: &[&'a [u8]], placed: &[Batching]) -> Self {
        assert!(
            (1..=TILE).contains(&rows.len()),
            "a tile holds 1 to {TILE} tokens"
        );
        let (grouped, tiled) = batch_flags(rows.len(), placed);
        let blocks = rows[0].len() / Q8K_BLOCK_BYTES;
        let mut sum_pairs = vec![[[0i32; TILE]; 8]; blocks];
        let mut scales = vec![[0f32; TILE]; blocks];
        let mut lanes = vec![[[0u8; 256]; TILE]; blocks];
        for (t, row) in rows.iter().enumerate() {
            assert_eq!(row.len(), rows[0].len(), "tile rows differ in width");
            for (b, block) in row.chunks_exact(Q8K_BLOCK_BYTES).enumerate() {
                scales[b][t] = f32_at(block);
                for (k, piece) in lanes[b][t].chunks_exact_mut(16).enumerate() {
                    let (c, j) = (k / 4, k % 4);
                    let from = 4 + 64 * j + 16 * c;
                    piece.copy_from_slice(&block[from..from + 16]);
                }
                for (p, pair) in sum_pairs[b].iter_mut().enumerate() {
                    pair[t] = sum_pair(block, p);
                }
            }
        }
        Self {
            rows: rows.to_vec(),
            sum_pairs,
            scales,
            lanes,
            grouped,
            tiled,
        }
    }

    /// Tokens in the tile.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the tile is empty (never, by construction).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The Q8_K row of token `t`.
    pub fn row(&self, t: usize) -> &'a [u8] {
        self.rows[t]
    }
}

/// The batch flags of `tokens` tokens placed as `placed` says: bit `t` set where token
/// `t` belongs to a group of four, and whether their batch is tiled (all tokens of
/// one batch, so all tiled or none).
pub(super) fn batch_flags(tokens: usize, placed: &[Batching]) -> (u32, bool) {
    assert_eq!(placed.len(), tokens, "one batch placement per token");
    let tiled = placed[0].tiled;
    assert!(
        placed.iter().all(|p| p.tiled == tiled),
        "a tile's tokens come from one batch"
    );
    let grouped = placed
        .iter()
        .enumerate()
        .filter(|(_, p)| p.group_of_four)
        .fold(0u32, |bits, (t, _)| bits | 1 << t);
    (grouped, tiled)
}

/// Group sums `2p` and `2p + 1` of a Q8_K block as one little-endian `i32` (the even
/// group in the low 16 bits), as the block stores them.
pub(super) fn sum_pair(block: &[u8], p: usize) -> i32 {
    let o = BSUMS_OFFSET + 4 * p;
    i32::from_le_bytes([block[o], block[o + 1], block[o + 2], block[o + 3]])
}
