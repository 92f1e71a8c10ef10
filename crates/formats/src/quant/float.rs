//! Scalar float formats: IEEE binary16 (`F16`) and bfloat16 (`BF16`).
//!
//! The conversions match ggml's software paths bit for bit (`ggml_compute_fp32_to_fp16`,
//! `ggml_compute_fp32_to_bf16` and their inverses), which every ggml quantizer uses for its
//! block scales:
//! - f32 → f16 rounds to nearest, ties to even; values too large become ±inf; subnormal
//!   results are kept (not flushed); any NaN becomes the quiet NaN `0x7E00` with its sign.
//! - f32 → bf16 rounds to nearest, ties to even; a NaN keeps its upper 16 bits and is forced
//!   quiet (bit 6 of the bf16 set).
//! - f16/bf16 → f32 is exact (every f16 and bf16 value is an f32 value).

/// Bytes per element of an `F16` tensor.
pub const F16_BYTES: usize = 2;
/// Bytes per element of a `BF16` tensor.
pub const BF16_BYTES: usize = 2;
/// Bytes per element of an `F32` tensor.
pub const F32_BYTES: usize = 4;

/// Converts an f32 to the bits of the nearest f16 (ties to even), as ggml does.
pub fn f32_to_f16(value: f32) -> u16 {
    let bits = value.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let abs = bits & 0x7fff_ffff;
    if abs > 0x7f80_0000 {
        return sign | 0x7e00;
    }
    if abs >= 0x4780_0000 {
        // |value| >= 65536 rounds to infinity (65520 and up round there too; handled below).
        return sign | 0x7c00;
    }
    let exponent = (abs >> 23) as i32 - 127;
    if exponent >= -14 {
        // Normal f16 range: keep 10 mantissa bits, round the 13 dropped ones.
        let mantissa = abs & 0x007f_ffff;
        let half = (((exponent + 15) as u32) << 10) | (mantissa >> 13);
        let rounded = half + round_increment(mantissa, 13);
        // A carry out of the mantissa correctly bumps the exponent (up to infinity).
        return sign | rounded as u16;
    }
    if exponent < -25 {
        // Below half of the smallest subnormal: rounds to zero.
        return sign;
    }
    // Subnormal f16: the implicit leading one joins the mantissa, then shift it down.
    let mantissa = (abs & 0x007f_ffff) | 0x0080_0000;
    let shift = (-exponent - 14 + 13) as u32;
    let half = mantissa >> shift;
    sign | (half + round_increment(mantissa, shift)) as u16
}

/// 1 when dropping the low `shift` bits of `mantissa` must round the kept part up
/// (round to nearest, ties to even), else 0.
fn round_increment(mantissa: u32, shift: u32) -> u32 {
    let dropped = mantissa & ((1 << shift) - 1);
    let halfway = 1 << (shift - 1);
    let kept_is_odd = (mantissa >> shift) & 1;
    u32::from(dropped > halfway || (dropped == halfway && kept_is_odd == 1))
}

/// Converts the bits of an f16 to the f32 of the same value (exact).
pub fn f16_to_f32(half: u16) -> f32 {
    let sign = u32::from(half & 0x8000) << 16;
    let exponent = u32::from((half >> 10) & 0x1f);
    let mantissa = u32::from(half & 0x03ff);
    let bits = match (exponent, mantissa) {
        (0, 0) => sign,
        (0, _) => {
            // Subnormal: value = mantissa * 2^-24, exactly representable as a normal f32.
            let value = mantissa as f32 * f32::from_bits(0x3380_0000);
            sign | value.to_bits()
        }
        // Infinity keeps a zero mantissa; NaN keeps its payload and comes out quiet.
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, _) => sign | 0x7fc0_0000 | (mantissa << 13),
        _ => sign | ((exponent + 112) << 23) | (mantissa << 13),
    };
    f32::from_bits(bits)
}

/// Converts an f32 to the bits of the nearest bf16 (ties to even), as ggml does.
pub fn f32_to_bf16(value: f32) -> u16 {
    let bits = value.to_bits();
    if bits & 0x7fff_ffff > 0x7f80_0000 {
        return ((bits >> 16) | 64) as u16;
    }
    let rounding = 0x7fff + ((bits >> 16) & 1);
    (bits.wrapping_add(rounding) >> 16) as u16
}

/// Converts the bits of a bf16 to the f32 of the same value (exact).
pub fn bf16_to_f32(bf16: u16) -> f32 {
    f32::from_bits(u32::from(bf16) << 16)
}

/// Reads the little-endian f16 at `bytes[at..at + 2]` as an f32.
///
/// Panics if `bytes` is shorter than `at + 2`; block codecs call it on fixed-size blocks.
pub fn read_f16(bytes: &[u8], at: usize) -> f32 {
    f16_to_f32(u16::from_le_bytes([bytes[at], bytes[at + 1]]))
}

/// Writes `value` rounded to f16 as little-endian bytes at `bytes[at..at + 2]`.
///
/// Panics if `bytes` is shorter than `at + 2`; block codecs call it on fixed-size blocks.
pub fn write_f16(bytes: &mut [u8], at: usize, value: f32) {
    bytes[at..at + 2].copy_from_slice(&f32_to_f16(value).to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn f16_edge_values_round_like_ieee() {
        assert_eq!(f32_to_f16(65504.0), 0x7bff);
        assert_eq!(f32_to_f16(65519.99), 0x7bff);
        assert_eq!(f32_to_f16(65520.0), 0x7c00);
        assert_eq!(f32_to_f16(f32::INFINITY), 0x7c00);
        assert_eq!(f32_to_f16(f32::NEG_INFINITY), 0xfc00);
        assert_eq!(f32_to_f16(f32::NAN), 0x7e00);
        assert_eq!(f32_to_f16(-f32::NAN), 0xfe00);
        assert_eq!(f32_to_f16(-0.0), 0x8000);
        // Smallest subnormal 2^-24, and exactly half of it (tie to even: zero).
        assert_eq!(f32_to_f16(5.960_464_5e-8), 0x0001);
        assert_eq!(f32_to_f16(2.980_232_2e-8), 0x0000);
        assert_eq!(f32_to_f16(2.980_233e-8), 0x0001);
        // 1 + 2^-11 is a tie between 1 and 1 + 2^-10: even mantissa wins.
        assert_eq!(f32_to_f16(1.000_488_3), 0x3c00);
        assert!(f16_to_f32(0x7e00).is_nan());
    }

    #[test]
    fn bf16_rounds_ties_to_even_and_quiets_nan() {
        assert_eq!(f32_to_bf16(f32::from_bits(0x3f80_8000)), 0x3f80);
        assert_eq!(f32_to_bf16(f32::from_bits(0x3f81_8000)), 0x3f82);
        assert_eq!(f32_to_bf16(f32::from_bits(0x7f80_0001)), 0x7fc0);
        assert_eq!(f32_to_bf16(f32::INFINITY), 0x7f80);
    }

    proptest! {
        #[test]
        fn f32_to_f16_matches_ieee_rounding(bits in any::<u32>()) {
            let value = f32::from_bits(bits);
            prop_assume!(!value.is_nan());
            prop_assert_eq!(f32_to_f16(value), half::f16::from_f32(value).to_bits());
        }

        #[test]
        fn f16_round_trip_is_exact(bits in any::<u16>()) {
            let value = f16_to_f32(bits);
            let oracle = half::f16::from_bits(bits).to_f32();
            prop_assert_eq!(value.is_nan(), oracle.is_nan());
            if !value.is_nan() {
                prop_assert_eq!(value.to_bits(), oracle.to_bits());
                prop_assert_eq!(f32_to_f16(value), bits);
            }
        }

        #[test]
        fn bf16_round_trip_is_exact(bits in any::<u16>()) {
            let value = bf16_to_f32(bits);
            prop_assume!(!value.is_nan());
            prop_assert_eq!(f32_to_bf16(value), bits);
        }

        #[test]
        fn f32_to_bf16_matches_ieee_rounding(bits in any::<u32>()) {
            let value = f32::from_bits(bits);
            prop_assume!(!value.is_nan());
            prop_assert_eq!(f32_to_bf16(value), half::bf16::from_f32(value).to_bits());
        }
    }
}
