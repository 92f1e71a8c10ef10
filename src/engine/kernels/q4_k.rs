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

/// Σ min_j · (sum of the 32 activation quants of sub-block j).
#[inline(always)]
fn mins_dot(mins: &[u8; 8], bsums: &[i32; 16]) -> i32 {
    (0..8)
        .map(|j| mins[j] as i32 * (bsums[2 * j] + bsums[2 * j + 1]))
        .sum()
}

/// Portable Q4_K · Q8_K dot product.
pub fn dot_scalar(w: &[u8], a: &[u8]) -> f32 {
    let mut sum = 0.0f32;
    for (wb, ab) in w
        .chunks_exact(Q4K_BLOCK_BYTES)
        .zip(a.chunks_exact(Q8K_BLOCK_BYTES))
    {
        let (scales, mins) = unpack_scales_mins(&wb[4..16]);
        let qs = &wb[16..];
        let aq = &ab[4..260];
        let mut sumi = 0i32;
        for j in 0..4 {
            let q = &qs[32 * j..32 * j + 32];
            let (mut lo, mut hi) = (0i32, 0i32);
            for l in 0..32 {
                lo += (q[l] & 0xF) as i32 * aq[64 * j + l] as i8 as i32;
                hi += (q[l] >> 4) as i32 * aq[64 * j + 32 + l] as i8 as i32;
            }
            sumi += scales[2 * j] as i32 * lo + scales[2 * j + 1] as i32 * hi;
        }
        let da = f32_at(ab);
        let summ = mins_dot(&mins, &q8k_bsums(ab));
        sum += da * f16_at(wb) * sumi as f32 - da * f16_at(&wb[2..]) * summ as f32;
    }
    sum
}

/// AVX2/FMA Q4_K · Q8_K dot product.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_avx2(w: &[u8], a: &[u8]) -> f32 {
    use std::arch::x86_64::*;
    let low4 = _mm256_set1_epi8(0xF);
    let mut acc = _mm256_setzero_ps();
    let mut acc_min = 0.0f32;
    for (wb, ab) in w
        .chunks_exact(Q4K_BLOCK_BYTES)
        .zip(a.chunks_exact(Q8K_BLOCK_BYTES))
    {
        let (scales, mins) = unpack_scales_mins(&wb[4..16]);
        let da = f32_at(ab);
        acc_min += da * f16_at(&wb[2..]) * mins_dot(&mins, &q8k_bsums(ab)) as f32;
        let qs = wb.as_ptr().add(16);
        let aq = ab.as_ptr().add(4);
        let mut sumi = _mm256_setzero_si256();
        for j in 0..4 {
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
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p_lo, p_hi));
        }
        let d = _mm256_set1_ps(da * f16_at(wb));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi), acc);
    }
    super::hsum_ps(acc) - acc_min
}

/// AVX-512 Q4_K row × the `N` tokens of a Q8_K tile: `out[t]` is bit-identical to
/// [`dot_avx2`] of token `t` (the 16 integer lanes fold onto the AVX2 kernel's 8
/// before the same float steps). A block's nibbles and scales are decoded once for
/// all tokens, and the mins of all tokens take one `madd` per sub-block pair.
///
/// # Safety
/// The CPU must support AVX-512 F/BW/VL/VNNI, AVX2, FMA and F16C; `N == tile.len()`.
#[cfg(target_arch = "x86_64")]
#[clippy::msrv = "1.89"] // AVX-512 intrinsics are stable since Rust 1.89.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
#[inline]
pub unsafe fn tile_avx512<const N: usize>(w: &[u8], tile: &super::Q8kTile<'_>, out: &mut [f32]) {
    use std::arch::x86_64::*;
    debug_assert_eq!(tile.len(), N);
    let low4 = _mm512_set1_epi8(0xF);
    // permutexvar indices: i16 lanes 0..16 take scale 2j, lanes 16..32 scale 2j + 1.
    let pick =
        |j: i16| _mm512_inserti64x4(_mm512_set1_epi16(2 * j), _mm256_set1_epi16(2 * j + 1), 1);
    let pick = [pick(0), pick(1), pick(2), pick(3)];
    let rows: [*const u8; N] = std::array::from_fn(|t| tile.row(t).as_ptr().add(4));
    let mut acc = [_mm256_setzero_ps(); N];
    let mut acc_min = _mm256_setzero_ps();
    let mut acc_min_one = 0.0f32;
    for (b, wb) in w.chunks_exact(Q4K_BLOCK_BYTES).enumerate() {
        let (scales, mins) = unpack_scales_mins(&wb[4..16]);
        let (dw, dmin) = (f16_at(wb), f16_at(&wb[2..]));
        let scales16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_loadl_epi64(
            scales.as_ptr() as *const __m128i
        )));
        let qs = wb.as_ptr().add(16);
        // Group j: low nibbles (sub-block 2j) in the low half, high nibbles in the high half.
        let quants: [(__m512i, __m512i); 4] = std::array::from_fn(|j| {
            let q = _mm256_loadu_si256(qs.add(32 * j) as *const __m256i);
            let both = _mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1);
            (
                _mm512_and_si512(both, low4),
                _mm512_permutexvar_epi16(pick[j], scales16),
            )
        });
        let offset = b * Q8K_BLOCK_BYTES;
        // d of each token lane and the mins term, vectorized over tokens.
        let d_tokens = if N == 1 {
            let ab = std::slice::from_raw_parts(rows[0].sub(4).add(offset), Q8K_BLOCK_BYTES);
            let da = f32_at(ab);
            acc_min_one += da * dmin * mins_dot(&mins, &q8k_bsums(ab)) as f32;
            _mm256_set1_ps(da * dw)
        } else {
            let mut summ = _mm256_setzero_si256();
            for (p, pair) in tile.sum_pairs[b].iter().enumerate() {
                let m = _mm256_set1_epi32(mins[p] as i32 * 0x1_0001);
                let sums = _mm256_loadu_si256(pair.as_ptr() as *const __m256i);
                summ = _mm256_add_epi32(summ, _mm256_madd_epi16(sums, m));
            }
            let da = _mm256_loadu_ps(tile.scales[b].as_ptr());
            let term = _mm256_mul_ps(
                _mm256_mul_ps(da, _mm256_set1_ps(dmin)),
                _mm256_cvtepi32_ps(summ),
            );
            acc_min = _mm256_add_ps(acc_min, term);
            _mm256_mul_ps(da, _mm256_set1_ps(dw))
        };
        for (t, acc) in acc.iter_mut().enumerate() {
            let aq = rows[t].add(offset);
            let mut sumi = _mm512_setzero_si512();
            for (j, (q, scale)) in quants.iter().enumerate() {
                let a = _mm512_loadu_si512(aq.add(64 * j) as *const __m512i);
                sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(*q, a), *scale);
            }
            let folded = _mm256_add_epi32(
                _mm512_castsi512_si256(sumi),
                _mm512_extracti64x4_epi64(sumi, 1),
            );
            let d = _mm256_permutexvar_ps(_mm256_set1_epi32(t as i32), d_tokens);
            *acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(folded), *acc);
        }
    }
    let mut mins = [0.0f32; 8];
    _mm256_storeu_ps(mins.as_mut_ptr(), acc_min);
    if N == 1 {
        mins[0] = acc_min_one;
    }
    for (t, o) in out.iter_mut().enumerate().take(N) {
        *o = super::hsum_ps(acc[t]) - mins[t];
    }
}
