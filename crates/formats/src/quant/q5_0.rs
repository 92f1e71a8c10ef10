//! `Q5_0`: blocks of 32 weights as one f16 scale and 32 unsigned 5-bit levels (5.5
//! bits/weight). llama.cpp's Q4_K_M falls back to it for tensors whose rows are not a
//! multiple of 256 (Gemma 3 270M's 640-wide rows, for instance).
//!
//! Block layout (22 bytes, little-endian):
//!
//! | bytes  | field | meaning                                                         |
//! |--------|-------|-----------------------------------------------------------------|
//! | 0..2   | `d`   | f16 scale                                                       |
//! | 2..6   | `qh`  | u32; bit `i` is the 5th bit of weight `i`                       |
//! | 6..22  | `qs`  | byte `j` holds the low 4 bits of weight `j` (low nibble) and of weight `j + 16` (high nibble) |
//!
//! Weight = `d * (level - 16)`.

use super::float::{read_f16, write_f16};
use super::search::{c_float_to_i8, signed_max};

/// Weights per block.
pub const BLOCK_ELEMS: usize = 32;
/// Bytes per block.
pub const BLOCK_BYTES: usize = 22;
/// Offset of the f16 scale `d`.
pub const D_OFFSET: usize = 0;
/// Offset of the little-endian u32 of 5th bits.
pub const QH_OFFSET: usize = 2;
/// Offset of the 16 bytes of packed low nibbles.
pub const QS_OFFSET: usize = 6;

// ggml's `static_assert(sizeof(block_q5_0) == ...)`: the fields fill the block exactly.
const _: () = assert!(
    QH_OFFSET == D_OFFSET + 2
        && QS_OFFSET == QH_OFFSET + BLOCK_ELEMS / 8
        && BLOCK_BYTES == QS_OFFSET + BLOCK_ELEMS / 2
);

/// Quantizes one block like llama.cpp's `quantize_row_q5_0_ref`: the value of largest
/// magnitude maps to level 0 (`d = max / -16`), others to `min(31, trunc(x / d + 16.5))`.
pub fn quantize_block(x: &[f32; BLOCK_ELEMS], out: &mut [u8; BLOCK_BYTES]) {
    let d = signed_max(x) / -16.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    write_f16(out, D_OFFSET, d);
    let level = |v: f32| c_float_to_i8(v * id + 16.5).min(31) as u8;
    let mut qh = 0u32;
    let (low, high) = x.split_at(BLOCK_ELEMS / 2);
    for (j, ((q, &a), &b)) in out[QS_OFFSET..].iter_mut().zip(low).zip(high).enumerate() {
        let (la, lb) = (level(a), level(b));
        *q = (la & 0x0f) | ((lb & 0x0f) << 4);
        qh |= u32::from((la >> 4) & 1) << j;
        qh |= u32::from((lb >> 4) & 1) << (j + BLOCK_ELEMS / 2);
    }
    out[QH_OFFSET..QS_OFFSET].copy_from_slice(&qh.to_le_bytes());
}

/// Dequantizes one block: weight `i` = `d * (level_i - 16)`.
pub fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_ELEMS]) {
    let d = read_f16(block, D_OFFSET);
    let qh = u32::from_le_bytes([block[2], block[3], block[4], block[5]]);
    let (low, high) = out.split_at_mut(BLOCK_ELEMS / 2);
    for (j, ((&q, a), b)) in block[QS_OFFSET..].iter().zip(low).zip(high).enumerate() {
        let high_bit = |bit: usize| (((qh >> bit) & 1) << 4) as i32;
        *a = ((i32::from(q & 0x0f) | high_bit(j)) - 16) as f32 * d;
        *b = ((i32::from(q >> 4) | high_bit(j + BLOCK_ELEMS / 2)) - 16) as f32 * d;
    }
}
