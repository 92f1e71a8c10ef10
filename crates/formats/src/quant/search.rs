//! Scale searches shared by the K-quant quantizers, following llama.cpp's reference
//! quantizers (`nearest_int`, `make_qx_quants`, `make_qkx2_quants` in ggml-quants.c).
//!
//! Every float operation is done in f32 in the reference's order, with no fused
//! multiply-add, so the chosen scales and levels are bit-identical to llama.cpp's.

/// Below this absolute maximum a group counts as all zeros (ggml's `GROUP_MAX_EPS`).
pub const GROUP_MAX_EPS: f32 = 1e-15;

/// Rounds to the nearest integer, ties to even, with ggml's magic-number trick.
///
/// Exact for |value| <= 4194303; beyond that (and for NaN or ±inf) it returns the same
/// deterministic garbage llama.cpp's `nearest_int` returns, never panicking.
pub fn nearest_int(value: f32) -> i32 {
    let shifted = value + 12_582_912.0;
    (shifted.to_bits() as i32 & 0x007f_ffff) - 0x0040_0000
}

/// Converts like C's `(int8_t)value` compiles on x86-64 (`cvttss2si`, then the low byte):
/// truncation toward zero, and 0 for NaN or values outside the i32 range. The reference
/// quantizers of Q4_0, Q5_0 and Q8_0 convert this way, so even blocks holding NaN or ±inf
/// quantize to the bytes llama.cpp writes.
pub fn c_float_to_i8(value: f32) -> i8 {
    const I32_LIMIT: f32 = 2_147_483_648.0;
    if value.is_nan() || !(-I32_LIMIT..I32_LIMIT).contains(&value) {
        return 0;
    }
    value as i32 as i8
}

/// The value of largest magnitude in `x` (the first one on ties), or 0 for an empty or
/// all-zero slice. NaNs are skipped, as in the reference's `amax < |v|` comparison.
pub fn signed_max(x: &[f32]) -> f32 {
    let mut amax = 0.0f32;
    let mut max = 0.0f32;
    for &v in x {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    max
}

/// Chooses a symmetric scale for `x` with levels in `-nmax..nmax`, minimizing the error
/// weighted by `x²` over 19 candidate scales (llama.cpp's `make_qx_quants`, `rmse_type` 1,
/// no importance weights). Writes each level plus `nmax` into `levels` and returns the scale.
pub fn symmetric_scale(x: &[f32], nmax: i32, levels: &mut [i8]) -> f32 {
    let max = signed_max(x);
    if max.abs() < GROUP_MAX_EPS {
        levels.fill(0);
        return 0.0;
    }
    let level_of = |iscale: f32, v: f32| nearest_int(iscale * v).clamp(-nmax, nmax - 1);
    let weighted_sums = |iscale: f32| {
        let (mut sumlx, mut suml2) = (0.0f32, 0.0f32);
        for &v in x {
            let l = level_of(iscale, v) as f32;
            let w = v * v;
            sumlx += w * v * l;
            suml2 += w * l * l;
        }
        (sumlx, suml2)
    };
    let store_levels = |iscale: f32, levels: &mut [i8]| {
        for (slot, &v) in levels.iter_mut().zip(x) {
            *slot = (nmax + level_of(iscale, v)) as i8;
        }
    };

    let iscale = -(nmax as f32) / max;
    store_levels(iscale, levels);
    let (sumlx, suml2) = weighted_sums(iscale);
    let mut scale = if suml2 != 0.0 { sumlx / suml2 } else { 0.0 };
    let mut best = scale * sumlx;
    for step in (-9..=9).filter(|&s| s != 0) {
        let iscale = -(nmax as f32 + 0.1 * step as f32) / max;
        let (sumlx, suml2) = weighted_sums(iscale);
        if suml2 > 0.0 && sumlx * sumlx > best * suml2 {
            store_levels(iscale, levels);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    scale
}

/// Parameters of the asymmetric (scale + min) search of one K-quant type.
#[derive(Debug, Clone, Copy)]
pub struct AffineSearch {
    /// Highest level (15 for 4-bit, 31 for 5-bit).
    pub nmax: i32,
    /// Offset of the first candidate inverse scale, in levels.
    pub rmin: f32,
    /// Step between candidate inverse scales, in levels.
    pub rdelta: f32,
    /// Number of steps tried after the first candidate.
    pub nstep: i32,
}

/// The result of [`affine_scale`]: `x ≈ scale * level - neg_min`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AffineFit {
    /// Step between levels.
    pub scale: f32,
    /// Minus the offset of level 0 (so it is >= 0).
    pub neg_min: f32,
}

/// Chooses a scale and a non-positive minimum for `x` (levels `0..=nmax`), minimizing the
/// squared error weighted by `weights` (llama.cpp's `make_qkx2_quants` with `use_mad`
/// false). Writes the chosen levels into `levels`; `scratch` must be as long as `x`.
pub fn affine_scale(
    x: &[f32],
    weights: &[f32],
    search: AffineSearch,
    levels: &mut [u8],
    scratch: &mut [u8],
) -> AffineFit {
    let nmax = search.nmax;
    let mut min = x[0];
    let mut max = x[0];
    let mut sum_w = weights[0];
    let mut sum_x = sum_w * x[0];
    for (&v, &w) in x.iter().zip(weights).skip(1) {
        if v < min {
            min = v;
        }
        if v > max {
            max = v;
        }
        sum_w += w;
        sum_x += w * v;
    }
    if min > 0.0 {
        min = 0.0;
    }
    if max == min {
        levels.fill(0);
        return AffineFit {
            scale: 0.0,
            neg_min: -min,
        };
    }
    let squared_error = |scale: f32, min: f32, levels: &[u8]| {
        let mut error = 0.0f32;
        for ((&l, &v), &w) in levels.iter().zip(x).zip(weights) {
            let diff = scale * f32::from(l) + min - v;
            error += w * (diff * diff);
        }
        error
    };
    let quantize_into = |iscale: f32, min: f32, out: &mut [u8]| {
        for (slot, &v) in out.iter_mut().zip(x) {
            *slot = nearest_int(iscale * (v - min)).clamp(0, nmax) as u8;
        }
    };

    let iscale = nmax as f32 / (max - min);
    let mut scale = 1.0 / iscale;
    quantize_into(iscale, min, levels);
    let mut best_error = squared_error(scale, min, levels);
    for step in 0..=search.nstep {
        let iscale = (search.rmin + search.rdelta * step as f32 + nmax as f32) / (max - min);
        quantize_into(iscale, min, scratch);
        let (mut sum_l, mut sum_l2, mut sum_xl) = (0.0f32, 0.0f32, 0.0f32);
        for ((&l, &v), &w) in scratch.iter().zip(x).zip(weights) {
            let l = f32::from(l);
            sum_l += w * l;
            sum_l2 += w * l * l;
            sum_xl += w * l * v;
        }
        let det = sum_w * sum_l2 - sum_l * sum_l;
        if det > 0.0 {
            let mut this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
            let mut this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
            if this_min > 0.0 {
                this_min = 0.0;
                this_scale = sum_xl / sum_l2;
            }
            let error = squared_error(this_scale, this_min, scratch);
            if error < best_error {
                levels.copy_from_slice(scratch);
                best_error = error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    AffineFit {
        scale,
        neg_min: -min,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_int_rounds_ties_to_even() {
        assert_eq!(nearest_int(0.5), 0);
        assert_eq!(nearest_int(1.5), 2);
        assert_eq!(nearest_int(-2.5), -2);
        assert_eq!(nearest_int(-2.6), -3);
        assert_eq!(nearest_int(4_194_303.0), 4_194_303);
    }

    #[test]
    fn float_to_i8_truncates_like_x86_c() {
        assert_eq!(c_float_to_i8(8.9), 8);
        assert_eq!(c_float_to_i8(-8.9), -8);
        assert_eq!(c_float_to_i8(200.5), -56);
        assert_eq!(c_float_to_i8(f32::NAN), 0);
        assert_eq!(c_float_to_i8(f32::INFINITY), 0);
        assert_eq!(c_float_to_i8(-3e9), 0);
    }

    #[test]
    fn nearest_int_is_total_on_non_finite_input() {
        let _ = nearest_int(f32::NAN);
        let _ = nearest_int(f32::INFINITY);
        let _ = nearest_int(-1e30);
    }
}
