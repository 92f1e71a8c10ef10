//! `Q8_K`: the activation format of the K-quant dot products. Super-blocks of 256 values
//! as an f32 scale, 256 signed bytes and 16 sums of 16 quants each. Never stored in GGUF
//! files; the engine quantizes activations to it on the fly.
//!
//! Block layout (292 bytes, little-endian):
//!
//! | bytes    | field   | meaning                                         |
//! |----------|---------|-------------------------------------------------|
//! | 0..4     | `d`     | f32 scale                                       |
//! | 4..260   | `qs`    | 256 × i8 quants; value `i` = `d * qs[i]`        |
//! | 260..292 | `bsums` | 16 × i16, `bsums[j]` = sum of `qs[16j..16j+16]` |

use super::k_affine::QK_K;
use super::search::{nearest_int, signed_max};

/// Values per block.
pub const BLOCK_ELEMS: usize = QK_K;
/// Bytes per block.
pub const BLOCK_BYTES: usize = 292;
/// Offset of the f32 scale `d`.
pub const D_OFFSET: usize = 0;
/// Offset of the 256 signed quants.
pub const QS_OFFSET: usize = 4;
/// Offset of the 16 little-endian i16 group sums.
pub const BSUMS_OFFSET: usize = 260;
/// Quants per group sum.
pub const BSUM_GROUP: usize = 16;

// The fields fill the block exactly (ggml's `block_q8_K`).
const _: () = assert!(
    QS_OFFSET == D_OFFSET + 4
        && BSUMS_OFFSET == QS_OFFSET + BLOCK_ELEMS
        && BLOCK_BYTES == BSUMS_OFFSET + 2 * (BLOCK_ELEMS / BSUM_GROUP)
);

/// Quantizes one block like llama.cpp's `quantize_row_q8_K_ref`: the value of largest
/// magnitude maps to -127 (`d = max / -127`), others to `nearest_int(x / d)`.
pub fn quantize_block(x: &[f32; BLOCK_ELEMS], out: &mut [u8; BLOCK_BYTES]) {
    let max = signed_max(x);
    if max == 0.0 {
        out.fill(0);
        return;
    }
    let iscale = -127.0 / max;
    let (head, bsums) = out.split_at_mut(BSUMS_OFFSET);
    let qs = &mut head[QS_OFFSET..];
    for (q, &v) in qs.iter_mut().zip(x) {
        *q = nearest_int(iscale * v).min(127) as i8 as u8;
    }
    for (sum, group) in bsums.chunks_exact_mut(2).zip(qs.chunks_exact(BSUM_GROUP)) {
        let total: i32 = group.iter().map(|&q| i32::from(q as i8)).sum();
        sum.copy_from_slice(&(total as i16).to_le_bytes());
    }
    out[D_OFFSET..QS_OFFSET].copy_from_slice(&(1.0 / iscale).to_le_bytes());
}

/// Dequantizes one block: value `i` = `d * qs[i]` (the sums are not needed).
pub fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_ELEMS]) {
    let d = f32::from_le_bytes([block[0], block[1], block[2], block[3]]);
    for (y, &q) in out.iter_mut().zip(&block[QS_OFFSET..BSUMS_OFFSET]) {
        *y = d * f32::from(q as i8);
    }
}
