//! `Q6_K`: super-blocks of 256 weights, 16 sub-blocks of 16 with signed 8-bit scales,
//! 6-bit levels (6.5625 bits/weight).
//!
//! Block layout (210 bytes, little-endian):
//!
//! | bytes    | field    | meaning                                   |
//! |----------|----------|-------------------------------------------|
//! | 0..128   | `ql`     | low 4 bits of the levels                  |
//! | 128..192 | `qh`     | high 2 bits of the levels                 |
//! | 192..208 | `scales` | 16 × i8 sub-block scales                  |
//! | 208..210 | `d`      | f16 super-scale                           |
//!
//! The weights come in 2 halves of 128 (`h`), each in 4 quarters of 32 (`k`). For weight
//! `128h + 32k + l` (`l` < 32): the low 4 bits are the low (`k` = 0, 1) or high (`k` = 2, 3)
//! nibble of `ql[64h + 32(k % 2) + l]`, the high 2 bits are bits `2k..2k+2` of
//! `qh[32h + l]`, and its scale is `scales[8h + 2k + l / 16]`.
//! Weight = `d * scale * (level - 32)`.

use super::float::{read_f16, write_f16};
use super::k_affine::QK_K;
use super::search::{nearest_int, symmetric_scale, GROUP_MAX_EPS};

/// Weights per block.
pub const BLOCK_ELEMS: usize = QK_K;
/// Bytes per block.
pub const BLOCK_BYTES: usize = 210;
/// Offset of the 128 bytes of low nibbles.
pub const QL_OFFSET: usize = 0;
/// Offset of the 64 bytes of high bit pairs.
pub const QH_OFFSET: usize = 128;
/// Offset of the 16 signed sub-block scales.
pub const SCALES_OFFSET: usize = 192;
/// Offset of the f16 super-scale `d`.
pub const D_OFFSET: usize = 208;
/// Weights per sub-block (one scale each).
pub const SUB_BLOCK: usize = 16;

const SUB_BLOCKS: usize = BLOCK_ELEMS / SUB_BLOCK;

// ggml's `static_assert(sizeof(block_q6_K) == ...)`: the fields fill the block exactly.
const _: () = assert!(
    QL_OFFSET == 0
        && QH_OFFSET == QL_OFFSET + BLOCK_ELEMS / 2
        && SCALES_OFFSET == QH_OFFSET + BLOCK_ELEMS / 4
        && D_OFFSET == SCALES_OFFSET + SUB_BLOCKS
        && BLOCK_BYTES == D_OFFSET + 2
);

/// Quantizes one block like llama.cpp's `quantize_row_q6_K_ref` (no importance matrix).
pub fn quantize_block(x: &[f32; BLOCK_ELEMS], out: &mut [u8; BLOCK_BYTES]) {
    let mut levels = [0i8; BLOCK_ELEMS];
    let mut scales = [0.0f32; SUB_BLOCKS];
    let mut max_scale = 0.0f32;
    let mut max_abs_scale = 0.0f32;
    for ((scale, sub), sub_levels) in scales
        .iter_mut()
        .zip(x.chunks_exact(SUB_BLOCK))
        .zip(levels.chunks_exact_mut(SUB_BLOCK))
    {
        *scale = symmetric_scale(sub, 32, sub_levels);
        if scale.abs() > max_abs_scale {
            max_abs_scale = scale.abs();
            max_scale = *scale;
        }
    }
    if max_abs_scale < GROUP_MAX_EPS {
        out.fill(0);
        return;
    }

    let iscale = -128.0 / max_scale;
    write_f16(out, D_OFFSET, 1.0 / iscale);
    for (slot, &scale) in out[SCALES_OFFSET..D_OFFSET].iter_mut().zip(&scales) {
        *slot = nearest_int(iscale * scale).min(127) as i8 as u8;
    }
    let d = read_f16(out, D_OFFSET);
    for ((&scale, sub), sub_levels) in out[SCALES_OFFSET..D_OFFSET]
        .iter()
        .zip(x.chunks_exact(SUB_BLOCK))
        .zip(levels.chunks_exact_mut(SUB_BLOCK))
    {
        let sub_d = d * f32::from(scale as i8);
        // A zero scale keeps the levels the search chose, as the reference does.
        if sub_d == 0.0 {
            continue;
        }
        for (l, &v) in sub_levels.iter_mut().zip(sub) {
            *l = (nearest_int(v / sub_d).clamp(-32, 31) + 32) as i8;
        }
    }

    let (ql, rest) = out.split_at_mut(QH_OFFSET);
    let qh = &mut rest[..SCALES_OFFSET - QH_OFFSET];
    for ((ql, qh), half) in ql
        .chunks_exact_mut(64)
        .zip(qh.chunks_exact_mut(32))
        .zip(levels.chunks_exact(128))
    {
        for l in 0..32 {
            let q = [half[l], half[l + 32], half[l + 64], half[l + 96]].map(|v| v as u8);
            ql[l] = (q[0] & 0x0f) | ((q[2] & 0x0f) << 4);
            ql[l + 32] = (q[1] & 0x0f) | ((q[3] & 0x0f) << 4);
            qh[l] = (q[0] >> 4) | ((q[1] >> 4) << 2) | ((q[2] >> 4) << 4) | ((q[3] >> 4) << 6);
        }
    }
}

/// Dequantizes one block like llama.cpp's `dequantize_row_q6_K`.
pub fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_ELEMS]) {
    let d = read_f16(block, D_OFFSET);
    let scales = &block[SCALES_OFFSET..D_OFFSET];
    for (h, y) in out.chunks_exact_mut(128).enumerate() {
        let ql = &block[QL_OFFSET + 64 * h..QL_OFFSET + 64 * h + 64];
        let qh = &block[QH_OFFSET + 32 * h..QH_OFFSET + 32 * h + 32];
        for l in 0..32 {
            let levels = [
                (ql[l] & 0x0f) | ((qh[l] & 3) << 4),
                (ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4),
                (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4),
                (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4),
            ];
            for (k, level) in levels.into_iter().enumerate() {
                let scale = f32::from(scales[8 * h + 2 * k + l / 16] as i8);
                y[32 * k + l] = d * scale * f32::from(level as i8 - 32);
            }
        }
    }
}
