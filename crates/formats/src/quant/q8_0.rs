//! `Q8_0`: blocks of 32 weights as one f16 scale and 32 signed bytes (8.5 bits/weight).
//!
//! Block layout (34 bytes, little-endian):
//!
//! | bytes  | field | meaning                              |
//! |--------|-------|--------------------------------------|
//! | 0..2   | `d`   | f16 scale                            |
//! | 2..34  | `qs`  | 32 × i8 quants; weight `i` = `d * qs[i]` |

use super::float::{read_f16, write_f16};
use super::search::c_float_to_i8;

/// Weights per block.
pub const BLOCK_ELEMS: usize = 32;
/// Bytes per block.
pub const BLOCK_BYTES: usize = 34;
/// Offset of the f16 scale `d`.
pub const D_OFFSET: usize = 0;
/// Offset of the 32 signed quants.
pub const QS_OFFSET: usize = 2;

// ggml's `static_assert(sizeof(block_q8_0) == ...)`: the fields fill the block exactly.
const _: () = assert!(QS_OFFSET == D_OFFSET + 2 && BLOCK_BYTES == QS_OFFSET + BLOCK_ELEMS);

/// Quantizes one block like llama.cpp's `quantize_row_q8_0_ref`: `d = amax / 127`, each
/// quant `round(x / d)` (half away from zero).
pub fn quantize_block(x: &[f32; BLOCK_ELEMS], out: &mut [u8; BLOCK_BYTES]) {
    // `amax > |v| ? amax : |v|`, as the reference's MAX macro (a NaN propagates).
    let amax = x
        .iter()
        .fold(0.0f32, |acc, v| if acc > v.abs() { acc } else { v.abs() });
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    write_f16(out, D_OFFSET, d);
    for (q, &v) in out[QS_OFFSET..].iter_mut().zip(x) {
        *q = c_float_to_i8((v * id).round()) as u8;
    }
}

/// Dequantizes one block: weight `i` = `d * qs[i]`.
pub fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_ELEMS]) {
    let d = read_f16(block, D_OFFSET);
    for (y, &q) in out.iter_mut().zip(&block[QS_OFFSET..]) {
        *y = f32::from(q as i8) * d;
    }
}
