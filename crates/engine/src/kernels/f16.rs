//! F16 weights × F16 activations (llama.cpp converts activations to f16 for F16 weights).

use super::f16_at;

/// Portable dot product of two f16 rows given as little-endian bytes.
pub fn dot_scalar(w: &[u8], a: &[u8]) -> f32 {
    w.chunks_exact(2)
        .zip(a.chunks_exact(2))
        .map(|(x, y)| f16_at(x) * f16_at(y))
        .sum()
}

/// AVX2/FMA/F16C dot product of two f16 rows.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_avx2(w: &[u8], a: &[u8]) -> f32 {
    use std::arch::x86_64::*;
    let n = w.len().min(a.len()) / 2;
    let (wp, ap) = (w.as_ptr(), a.as_ptr());
    let load =
        |p: *const u8, i: usize| _mm256_cvtph_ps(_mm_loadu_si128(p.add(2 * i) as *const __m128i));
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i + 32 <= n {
        for (k, acc) in acc.iter_mut().enumerate() {
            *acc = _mm256_fmadd_ps(load(wp, i + 8 * k), load(ap, i + 8 * k), *acc);
        }
        i += 32;
    }
    while i + 8 <= n {
        acc[0] = _mm256_fmadd_ps(load(wp, i), load(ap, i), acc[0]);
        i += 8;
    }
    let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    let mut total = super::hsum_ps(sum);
    while i < n {
        total += f16_at(&w[2 * i..]) * f16_at(&a[2 * i..]);
        i += 1;
    }
    total
}
