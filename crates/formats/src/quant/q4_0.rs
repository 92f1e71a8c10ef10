//! `Q4_0`: blocks of 32 weights as one f16 scale and 32 unsigned nibbles (4.5 bits/weight).
//!
//! Block layout (18 bytes, little-endian):
//!
//! | bytes  | field | meaning                                                        |
//! |--------|-------|----------------------------------------------------------------|
//! | 0..2   | `d`   | f16 scale                                                      |
//! | 2..18  | `qs`  | byte `j` holds weight `j` (low nibble) and weight `j + 16` (high nibble) |
//!
//! Weight = `d * (nibble - 8)`.

use super::float::{read_f16, write_f16};
use super::search::{c_float_to_i8, signed_max};

/// Weights per block.
pub const BLOCK_ELEMS: usize = 32;
/// Bytes per block.
pub const BLOCK_BYTES: usize = 18;
/// Offset of the f16 scale `d`.
pub const D_OFFSET: usize = 0;
/// Offset of the 16 bytes of packed nibbles.
pub const QS_OFFSET: usize = 2;

// ggml's `static_assert(sizeof(block_q4_0) == ...)`: the fields fill the block exactly.
const _: () = assert!(QS_OFFSET == D_OFFSET + 2 && BLOCK_BYTES == QS_OFFSET + BLOCK_ELEMS / 2);

/// Quantizes one block like llama.cpp's `quantize_row_q4_0_ref`: the value of largest
/// magnitude maps to level 0 (`d = max / -8`), others to `min(15, trunc(x / d + 8.5))`.
pub fn quantize_block(x: &[f32; BLOCK_ELEMS], out: &mut [u8; BLOCK_BYTES]) {
    let d = signed_max(x) / -8.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    write_f16(out, D_OFFSET, d);
    let level = |v: f32| c_float_to_i8(v * id + 8.5).min(15) as u8;
    let (low, high) = x.split_at(BLOCK_ELEMS / 2);
    for ((q, &a), &b) in out[QS_OFFSET..].iter_mut().zip(low).zip(high) {
        *q = level(a) | (level(b) << 4);
    }
}

/// Dequantizes one block: weight `j` = `d * (low nibble of byte j - 8)`, weight `j + 16` =
/// `d * (high nibble of byte j - 8)`.
pub fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_ELEMS]) {
    let d = read_f16(block, D_OFFSET);
    let (low, high) = out.split_at_mut(BLOCK_ELEMS / 2);
    for ((&q, a), b) in block[QS_OFFSET..].iter().zip(low).zip(high) {
        *a = (i32::from(q & 0x0f) - 8) as f32 * d;
        *b = (i32::from(q >> 4) - 8) as f32 * d;
    }
}
