//! F32 weights × F32 activations.

use super::f32_at;

/// Portable dot product of two f32 rows given as little-endian bytes.
pub fn dot_scalar(w: &[u8], a: &[u8]) -> f32 {
    w.chunks_exact(4)
        .zip(a.chunks_exact(4))
        .map(|(x, y)| f32_at(x) * f32_at(y))
        .sum()
}

/// AVX2/FMA dot product of two f32 rows.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn dot_avx2(w: &[u8], a: &[u8]) -> f32 {
    use std::arch::x86_64::*;
    let n = w.len().min(a.len()) / 4;
    let (wp, ap) = (w.as_ptr() as *const f32, a.as_ptr() as *const f32);
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i + 32 <= n {
        for (k, acc) in acc.iter_mut().enumerate() {
            let x = _mm256_loadu_ps(wp.add(i + 8 * k));
            let y = _mm256_loadu_ps(ap.add(i + 8 * k));
            *acc = _mm256_fmadd_ps(x, y, *acc);
        }
        i += 32;
    }
    while i + 8 <= n {
        acc[0] = _mm256_fmadd_ps(
            _mm256_loadu_ps(wp.add(i)),
            _mm256_loadu_ps(ap.add(i)),
            acc[0],
        );
        i += 8;
    }
    let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    let mut total = super::hsum_ps(sum);
    while i < n {
        total += wp.add(i).read_unaligned() * ap.add(i).read_unaligned();
        i += 1;
    }
    total
}
