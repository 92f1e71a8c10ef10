//! The part shared by `Q4_K` and `Q5_K`: a 256-weight super-block split into 8 sub-blocks
//! of 32, each with a 6-bit scale and a 6-bit min, themselves scaled by the super-block's
//! f16 `d` and `dmin`. Weight = `d * scale_j * level - dmin * min_j`.
//!
//! Shared header layout (16 bytes, little-endian):
//!
//! | bytes  | field    | meaning                                   |
//! |--------|----------|-------------------------------------------|
//! | 0..2   | `d`      | f16 super-scale of the sub-block scales   |
//! | 2..4   | `dmin`   | f16 super-scale of the sub-block mins     |
//! | 4..16  | `scales` | 8 scales + 8 mins, 6 bits each, see [`unpack_scale_mins`] |

use super::float::{read_f16, write_f16};
use super::search::{affine_scale, nearest_int, AffineSearch};

/// Weights per super-block (ggml's `QK_K`).
pub const QK_K: usize = 256;
/// Weights per sub-block.
pub const SUB_BLOCK: usize = 32;
/// Sub-blocks per super-block.
pub const SUB_BLOCKS: usize = QK_K / SUB_BLOCK;
/// Offset of the f16 `d`.
pub const D_OFFSET: usize = 0;
/// Offset of the f16 `dmin`.
pub const DMIN_OFFSET: usize = 2;
/// Offset of the 12 bytes of packed 6-bit scales and mins.
pub const SCALES_OFFSET: usize = 4;
/// Bytes of packed scales and mins (ggml's `K_SCALE_SIZE`).
pub const SCALES_BYTES: usize = 12;
/// Bytes of the shared header (`d`, `dmin`, `scales`).
pub const HEADER_BYTES: usize = SCALES_OFFSET + SCALES_BYTES;

/// Unpacks the 6-bit scale and min of every sub-block from a super-block header (or a
/// whole `Q4_K`/`Q5_K` block; the 12 packed bytes sit at [`SCALES_OFFSET`]), as ggml's
/// `get_scale_min_k4` does for each `j`: sub-blocks 0..4 use the low 6 bits of bytes `j`
/// (scale) and `j + 4` (min); sub-blocks 4..8 use a nibble of byte `j + 4` plus the top
/// 2 bits of bytes `j - 4` (scale) and `j` (min). Returns `(scales, mins)`.
///
/// The one unpacker: the codecs and the engine's dot-product kernels (in their hot
/// loops, hence `#[inline(always)]`) all call it.
#[inline(always)]
pub fn unpack_scale_mins(header: &[u8]) -> ([u8; SUB_BLOCKS], [u8; SUB_BLOCKS]) {
    let packed: &[u8; SCALES_BYTES] = header[SCALES_OFFSET..HEADER_BYTES]
        .try_into()
        .expect("a K-quant header holds SCALES_BYTES packed bytes");
    let mut scales = [0u8; SUB_BLOCKS];
    let mut mins = [0u8; SUB_BLOCKS];
    for j in 0..SUB_BLOCKS {
        if j < 4 {
            scales[j] = packed[j] & 63;
            mins[j] = packed[j + 4] & 63;
        } else {
            scales[j] = (packed[j + 4] & 0x0f) | ((packed[j - 4] >> 6) << 4);
            mins[j] = (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4);
        }
    }
    (scales, mins)
}

/// Packs the 6-bit scale and min of every sub-block into 12 bytes (inverse of [`unpack_scale_mins`]).
pub fn pack_scale_mins(scales: &[u8; SUB_BLOCKS], mins: &[u8; SUB_BLOCKS]) -> [u8; SCALES_BYTES] {
    let mut packed = [0u8; SCALES_BYTES];
    for j in 0..SUB_BLOCKS {
        let (ls, lm) = (scales[j], mins[j]);
        if j < 4 {
            packed[j] = ls;
            packed[j + 4] = lm;
        } else {
            packed[j + 4] = (ls & 0x0f) | ((lm & 0x0f) << 4);
            packed[j - 4] |= (ls >> 4) << 6;
            packed[j] |= (lm >> 4) << 6;
        }
    }
    packed
}

/// The effective `(scale, min)` multipliers of every sub-block of a super-block header:
/// weight = `scale * level - min`.
pub fn sub_block_scales(header: &[u8]) -> [(f32, f32); SUB_BLOCKS] {
    let d = read_f16(header, D_OFFSET);
    let dmin = read_f16(header, DMIN_OFFSET);
    let (scales, mins) = unpack_scale_mins(header);
    std::array::from_fn(|j| (d * f32::from(scales[j]), dmin * f32::from(mins[j])))
}

/// Quantizes the header of one super-block like llama.cpp's `quantize_row_q4_K_ref` /
/// `quantize_row_q5_K_ref`, writing `d`, `dmin` and the packed scales into `header` and
/// each weight's level (`0..=search.nmax`) into `levels`.
pub fn quantize_super_block(
    x: &[f32; QK_K],
    search: AffineSearch,
    header: &mut [u8],
    levels: &mut [u8; QK_K],
) {
    let mut scales = [0.0f32; SUB_BLOCKS];
    let mut mins = [0.0f32; SUB_BLOCKS];
    let mut weights = [0.0f32; SUB_BLOCK];
    let mut scratch = [0u8; SUB_BLOCK];
    let mut max_scale = 0.0f32;
    let mut max_min = 0.0f32;
    for (j, (sub, sub_levels)) in x
        .chunks_exact(SUB_BLOCK)
        .zip(levels.chunks_exact_mut(SUB_BLOCK))
        .enumerate()
    {
        let sum_x2 = sub.iter().fold(0.0f32, |acc, &v| acc + v * v);
        let av_x = (sum_x2 / SUB_BLOCK as f32).sqrt();
        for (w, &v) in weights.iter_mut().zip(sub) {
            *w = av_x + v.abs();
        }
        let fit = affine_scale(sub, &weights, search, sub_levels, &mut scratch);
        scales[j] = fit.scale;
        mins[j] = fit.neg_min;
        if fit.scale > max_scale {
            max_scale = fit.scale;
        }
        if fit.neg_min > max_min {
            max_min = fit.neg_min;
        }
    }

    let inv_scale = if max_scale > 0.0 {
        63.0 / max_scale
    } else {
        0.0
    };
    let inv_min = if max_min > 0.0 { 63.0 / max_min } else { 0.0 };
    let to_6bit = |v: f32| (nearest_int(v) as u8).min(63);
    let scales_6bit: [u8; SUB_BLOCKS] = std::array::from_fn(|j| to_6bit(inv_scale * scales[j]));
    let mins_6bit: [u8; SUB_BLOCKS] = std::array::from_fn(|j| to_6bit(inv_min * mins[j]));
    header[SCALES_OFFSET..HEADER_BYTES].copy_from_slice(&pack_scale_mins(&scales_6bit, &mins_6bit));
    write_f16(header, D_OFFSET, max_scale / 63.0);
    write_f16(header, DMIN_OFFSET, max_min / 63.0);

    for ((d, dm), (sub, sub_levels)) in sub_block_scales(header).into_iter().zip(
        x.chunks_exact(SUB_BLOCK)
            .zip(levels.chunks_exact_mut(SUB_BLOCK)),
    ) {
        // A zero scale keeps the levels the search chose, as the reference does.
        if d == 0.0 {
            continue;
        }
        for (l, &v) in sub_levels.iter_mut().zip(sub) {
            *l = nearest_int((v + dm) / d).clamp(0, search.nmax) as u8;
        }
    }
}
