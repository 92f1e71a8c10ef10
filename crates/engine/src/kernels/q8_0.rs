//! Q8_0 weights × Q8_0 activations: blocks of 32 int8 with an f16 scale each.

use super::{f16_at, Q8_0_BLOCK_BYTES};

/// Portable Q8_0 · Q8_0 dot product.
pub fn dot_scalar(w: &[u8], a: &[u8]) -> f32 {
    let mut sum = 0.0f32;
    for (wb, ab) in w
        .chunks_exact(Q8_0_BLOCK_BYTES)
        .zip(a.chunks_exact(Q8_0_BLOCK_BYTES))
    {
        let sumi: i32 = wb[2..]
            .iter()
            .zip(&ab[2..])
            .map(|(&x, &y)| (x as i8 as i32) * (y as i8 as i32))
            .sum();
        sum += f16_at(wb) * f16_at(ab) * sumi as f32;
    }
    sum
}

/// AVX2/FMA Q8_0 · Q8_0 dot product.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_avx2(w: &[u8], a: &[u8]) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = _mm256_setzero_ps();
    for (wb, ab) in w
        .chunks_exact(Q8_0_BLOCK_BYTES)
        .zip(a.chunks_exact(Q8_0_BLOCK_BYTES))
    {
        let x = _mm256_loadu_si256(wb.as_ptr().add(2) as *const __m256i);
        let y = _mm256_loadu_si256(ab.as_ptr().add(2) as *const __m256i);
        let sums = super::dot_i8_lanes(x, y);
        let d = _mm256_set1_ps(f16_at(wb) * f16_at(ab));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sums), acc);
    }
    super::hsum_ps(acc)
}

/// AVX-512 VNNI Q8_0 · Q8_0 dot product, bit-identical to [`dot_avx2`]: `vpdpbusd`
/// of |w| with the activations carrying w's sign gives the same 8 lane sums.
///
/// # Safety
/// The CPU must support AVX-512 F/BW/VL/VNNI, AVX2, FMA and F16C.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
pub unsafe fn dot_avx512(w: &[u8], a: &[u8]) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = _mm256_setzero_ps();
    for (wb, ab) in w
        .chunks_exact(Q8_0_BLOCK_BYTES)
        .zip(a.chunks_exact(Q8_0_BLOCK_BYTES))
    {
        let x = _mm256_loadu_si256(wb.as_ptr().add(2) as *const __m256i);
        let y = _mm256_loadu_si256(ab.as_ptr().add(2) as *const __m256i);
        let negative = _mm256_movepi8_mask(x);
        let sy = _mm256_mask_sub_epi8(y, negative, _mm256_setzero_si256(), y);
        let sums = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(x), sy);
        let d = _mm256_set1_ps(f16_at(wb) * f16_at(ab));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sums), acc);
    }
    super::hsum_ps(acc)
}
