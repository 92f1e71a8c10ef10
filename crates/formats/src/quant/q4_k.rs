//! `Q4_K`: super-blocks of 256 weights, 8 sub-blocks of 32 with 6-bit scales and mins,
//! 4-bit levels (4.5 bits/weight).
//!
//! Block layout (144 bytes, little-endian): the [`k_affine`](super::k_affine) header
//! (`d`, `dmin`, 12 bytes of scales) then 128 bytes of nibbles. The weights come in 4
//! groups of 64: byte `32 * g + l` of `qs` holds weight `64 * g + l` in its low nibble
//! (sub-block `2g`) and weight `64 * g + 32 + l` in its high nibble (sub-block `2g + 1`).
//!
//! Weight = `d * scale_j * level - dmin * min_j`; see
//! [`sub_block_scales`](super::k_affine::sub_block_scales).

use super::k_affine::{quantize_super_block, sub_block_scales, HEADER_BYTES, QK_K};
use super::search::AffineSearch;

pub use super::k_affine::{DMIN_OFFSET, D_OFFSET, SCALES_OFFSET};

/// Weights per block.
pub const BLOCK_ELEMS: usize = QK_K;
/// Bytes per block.
pub const BLOCK_BYTES: usize = 144;
/// Offset of the 128 bytes of packed nibbles.
pub const QS_OFFSET: usize = HEADER_BYTES;

// ggml's `static_assert(sizeof(block_q4_K) == ...)`: the fields fill the block exactly.
const _: () = assert!(BLOCK_BYTES == QS_OFFSET + BLOCK_ELEMS / 2);

/// The scale search llama.cpp uses for `Q4_K` (`make_qkx2_quants(32, 15, ..., -1, 0.1, 20)`).
const SEARCH: AffineSearch = AffineSearch {
    nmax: 15,
    rmin: -1.0,
    rdelta: 0.1,
    nstep: 20,
};

/// Quantizes one block like llama.cpp's `quantize_row_q4_K_ref` (no importance matrix).
pub fn quantize_block(x: &[f32; BLOCK_ELEMS], out: &mut [u8; BLOCK_BYTES]) {
    let mut levels = [0u8; QK_K];
    quantize_super_block(x, SEARCH, &mut out[..HEADER_BYTES], &mut levels);
    for (qs, group) in out[QS_OFFSET..]
        .chunks_exact_mut(32)
        .zip(levels.chunks_exact(64))
    {
        let (low, high) = group.split_at(32);
        for ((q, &a), &b) in qs.iter_mut().zip(low).zip(high) {
            *q = a | (b << 4);
        }
    }
}

/// Dequantizes one block like llama.cpp's `dequantize_row_q4_K`.
pub fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_ELEMS]) {
    let scales = sub_block_scales(block);
    for (g, (qs, y)) in block[QS_OFFSET..]
        .chunks_exact(32)
        .zip(out.chunks_exact_mut(64))
        .enumerate()
    {
        let ((d1, m1), (d2, m2)) = (scales[2 * g], scales[2 * g + 1]);
        let (low, high) = y.split_at_mut(32);
        for ((&q, a), b) in qs.iter().zip(low).zip(high) {
            *a = d1 * f32::from(q & 0x0f) - m1;
            *b = d2 * f32::from(q >> 4) - m2;
        }
    }
}
