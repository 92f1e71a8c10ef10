//! `Q5_K`: super-blocks of 256 weights, 8 sub-blocks of 32 with 6-bit scales and mins,
//! 5-bit levels (5.5 bits/weight).
//!
//! Block layout (176 bytes, little-endian): the [`k_affine`](super::k_affine) header
//! (`d`, `dmin`, 12 bytes of scales), 32 bytes `qh` of high bits, then 128 bytes `qs` of
//! low nibbles. The weights come in 4 groups of 64: byte `32 * g + l` of `qs` holds the low
//! 4 bits of weight `64 * g + l` (low nibble) and of weight `64 * g + 32 + l` (high
//! nibble); their 5th bits are bits `2g` and `2g + 1` of `qh[l]`.
//!
//! Weight = `d * scale_j * level - dmin * min_j`.

use super::k_affine::{quantize_super_block, sub_block_scales, HEADER_BYTES, QK_K};
use super::search::AffineSearch;

pub use super::k_affine::{DMIN_OFFSET, D_OFFSET, SCALES_OFFSET};

/// Weights per block.
pub const BLOCK_ELEMS: usize = QK_K;
/// Bytes per block.
pub const BLOCK_BYTES: usize = 176;
/// Offset of the 32 bytes of high bits.
pub const QH_OFFSET: usize = HEADER_BYTES;
/// Offset of the 128 bytes of low nibbles.
pub const QS_OFFSET: usize = QH_OFFSET + BLOCK_ELEMS / 8;

// ggml's `static_assert(sizeof(block_q5_K) == ...)`: the fields fill the block exactly.
const _: () = assert!(BLOCK_BYTES == QS_OFFSET + BLOCK_ELEMS / 2);

/// The scale search llama.cpp uses for `Q5_K` (`make_qkx2_quants(32, 31, ..., -0.5, 0.1, 15)`).
const SEARCH: AffineSearch = AffineSearch {
    nmax: 31,
    rmin: -0.5,
    rdelta: 0.1,
    nstep: 15,
};

/// Quantizes one block like llama.cpp's `quantize_row_q5_K_ref` (no importance matrix).
pub fn quantize_block(x: &[f32; BLOCK_ELEMS], out: &mut [u8; BLOCK_BYTES]) {
    let mut levels = [0u8; QK_K];
    quantize_super_block(x, SEARCH, &mut out[..HEADER_BYTES], &mut levels);
    let (qh, qs) = out[QH_OFFSET..].split_at_mut(32);
    qh.fill(0);
    for (g, (qs, group)) in qs
        .chunks_exact_mut(32)
        .zip(levels.chunks_exact(64))
        .enumerate()
    {
        let (low, high) = group.split_at(32);
        for (l, q) in qs.iter_mut().enumerate() {
            qh[l] |= ((low[l] >> 4) << (2 * g)) | ((high[l] >> 4) << (2 * g + 1));
            *q = (low[l] & 0x0f) | ((high[l] & 0x0f) << 4);
        }
    }
}

/// Dequantizes one block like llama.cpp's `dequantize_row_q5_K`.
pub fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_ELEMS]) {
    let scales = sub_block_scales(block);
    let qh = &block[QH_OFFSET..QS_OFFSET];
    for (g, (qs, y)) in block[QS_OFFSET..]
        .chunks_exact(32)
        .zip(out.chunks_exact_mut(64))
        .enumerate()
    {
        let ((d1, m1), (d2, m2)) = (scales[2 * g], scales[2 * g + 1]);
        let (low, high) = y.split_at_mut(32);
        for (l, (a, b)) in low.iter_mut().zip(high).enumerate() {
            let level_low = (qs[l] & 0x0f) | (((qh[l] >> (2 * g)) & 1) << 4);
            let level_high = (qs[l] >> 4) | (((qh[l] >> (2 * g + 1)) & 1) << 4);
            *a = d1 * f32::from(level_low) - m1;
            *b = d2 * f32::from(level_high) - m2;
        }
    }
}
