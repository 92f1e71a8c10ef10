//! Q4_K weights × Q8_K activations.
//!
//! Q4_K super-block (144 bytes): f16 `d`, f16 `dmin`, 12 bytes of packed 6-bit
//! scales and mins for 8 sub-blocks of 32, then 128 bytes of 4-bit quants (each
//! 32-byte group holds two sub-blocks: low nibbles, then high nibbles). A weight is
//! `d·scale·q − dmin·min`. Q8_K block (292 bytes): f32 `d`, 256 int8, 16 int16 sums
//! of 16 quants each.

use super::{f16_at, f32_at, Q4K_BLOCK_BYTES, Q8K_BLOCK_BYTES};

/// Unpacks the 8 six-bit scales and 8 six-bit mins of a Q4_K super-block.
#[inline(always)]
pub(super) fn unpack_scales_mins(packed: &[u8]) -> ([u8; 8], [u8; 8]) {
    let mut scales = [0u8; 8];
    let mut mins = [0u8; 8];
    for j in 0..8 {
        if j < 4 {
            scales[j] = packed[j] & 63;
            mins[j] = packed[j + 4] & 63;
        } else {
            scales[j] = (packed[j + 4] & 0xF) | ((packed[j - 4] >> 6) << 4);
            mins[j] = (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4);
        }
    }
    (scales, mins)
}

/// The 16 partial sums of a Q8_K block.
#[inline(always)]
pub(super) fn q8k_bsums(block: &[u8]) -> [i32; 16] {
    let mut sums = [0i32; 16];
    for (k, s) in sums.iter_mut().enumerate() {
        let o = 260 + 2 * k;
        *s = i16::from_le_bytes([block[o], block[o + 1]]) as i32;
    }
    sums
}

/// `Σ min · bsum` of each pair of sub-blocks (64 weights) of a super-block.
#[inline(always)]
fn pair_mins(mins: &[u8; 8], bsums: &[i32; 16]) -> [i32; 4] {
    std::array::from_fn(|j| {
        mins[2 * j] as i32 * (bsums[4 * j] + bsums[4 * j + 1])
            + mins[2 * j + 1] as i32 * (bsums[4 * j + 2] + bsums[4 * j + 3])
    })
}

/// The float side of a Q4_K row dot product, in the order of ggml's repacked x86
/// kernels: `acc ← fma(Σ scale·q·a, d·da, acc)`, `acc_min ← fma(Σ min·bsum, dmin·da,
/// acc_min)`, result `acc − acc_min`. A row computed alone (GEMV) takes one FMA per
/// super-block; a row of a group of four (GEMM) one per 64 weights.
#[derive(Default)]
struct Fold {
    acc: f32,
    acc_min: f32,
}

impl Fold {
    #[inline(always)]
    fn block(&mut self, d: f32, dmin: f32, sums: [i32; 4], mins: [i32; 4], grouped: bool) {
        if grouped {
            for (s, m) in sums.iter().zip(&mins) {
                self.acc = (*s as f32).mul_add(d, self.acc);
                self.acc_min = (*m as f32).mul_add(dmin, self.acc_min);
            }
        } else {
            let (s, m): (i32, i32) = (sums.iter().sum(), mins.iter().sum());
            self.acc = (s as f32).mul_add(d, self.acc);
            self.acc_min = (m as f32).mul_add(dmin, self.acc_min);
        }
    }

    fn result(&self) -> f32 {
        self.acc - self.acc_min
    }
}

/// Portable Q4_K · Q8_K dot product (`grouped`: see [`Fold`]).
pub fn dot_scalar(w: &[u8], a: &[u8], grouped: bool) -> f32 {
    let mut fold = Fold::default();
    for (wb, ab) in w
        .chunks_exact(Q4K_BLOCK_BYTES)
        .zip(a.chunks_exact(Q8K_BLOCK_BYTES))
    {
        let (scales, mins) = unpack_scales_mins(&wb[4..16]);
        let qs = &wb[16..];
        let aq = &ab[4..260];
        let sums = std::array::from_fn(|j| {
            let q = &qs[32 * j..32 * j + 32];
            let (mut lo, mut hi) = (0i32, 0i32);
            for l in 0..32 {
                lo += (q[l] & 0xF) as i32 * aq[64 * j + l] as i8 as i32;
                hi += (q[l] >> 4) as i32 * aq[64 * j + 32 + l] as i8 as i32;
            }
            scales[2 * j] as i32 * lo + scales[2 * j + 1] as i32 * hi
        });
        let da = f32_at(ab);
        let pair_mins = pair_mins(&mins, &q8k_bsums(ab));
        fold.block(
            f16_at(wb) * da,
            f16_at(&wb[2..]) * da,
            sums,
            pair_mins,
            grouped,
        );
    }
    fold.result()
}

/// AVX2/FMA Q4_K · Q8_K dot product (`grouped`: see [`Fold`]).
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_avx2(w: &[u8], a: &[u8], grouped: bool) -> f32 {
    use std::arch::x86_64::*;
    let low4 = _mm256_set1_epi8(0xF);
    let mut fold = Fold::default();
    for (wb, ab) in w
        .chunks_exact(Q4K_BLOCK_BYTES)
        .zip(a.chunks_exact(Q8K_BLOCK_BYTES))
    {
        let (scales, mins) = unpack_scales_mins(&wb[4..16]);
        let da = f32_at(ab);
        let qs = wb.as_ptr().add(16);
        let aq = ab.as_ptr().add(4);
        let mut sums = [0i32; 4];
        for (j, sum) in sums.iter_mut().enumerate() {
            let q4 = _mm256_loadu_si256(qs.add(32 * j) as *const __m256i);
            let lo = _mm256_and_si256(q4, low4);
            let hi = _mm256_and_si256(_mm256_srli_epi16(q4, 4), low4);
            let a_lo = _mm256_loadu_si256(aq.add(64 * j) as *const __m256i);
            let a_hi = _mm256_loadu_si256(aq.add(64 * j + 32) as *const __m256i);
            let p_lo = _mm256_madd_epi16(
                _mm256_maddubs_epi16(lo, a_lo),
                _mm256_set1_epi16(scales[2 * j] as i16),
            );
            let p_hi = _mm256_madd_epi16(
                _mm256_maddubs_epi16(hi, a_hi),
                _mm256_set1_epi16(scales[2 * j + 1] as i16),
            );
            *sum = super::hsum_epi32(_mm256_add_epi32(p_lo, p_hi));
        }
        let pair_mins = pair_mins(&mins, &q8k_bsums(ab));
        fold.block(
            f16_at(wb) * da,
            f16_at(&wb[2..]) * da,
            sums,
            pair_mins,
            grouped,
        );
    }
    fold.result()
}
