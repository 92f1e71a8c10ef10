//! Q5_0 weights × Q8_0 activations: blocks of 32 five-bit values (an f16 scale,
//! 32 high bits, 16 bytes of low nibbles), the fallback llama.cpp's Q4_K_M recipe
//! picks for matrices whose rows are not a multiple of 256.

use super::{f16_at, Q5_0_BLOCK_BYTES, Q8_0_BLOCK_BYTES};

/// The 32 signed values (−16..=15) of one Q5_0 block: element `j < 16` is the low
/// nibble of byte `j`, element `j + 16` its high nibble; bit `j` of `qh` is the fifth bit.
fn block_values(block: &[u8]) -> [i32; 32] {
    let qh = u32::from_le_bytes([block[2], block[3], block[4], block[5]]);
    let qs = &block[6..Q5_0_BLOCK_BYTES];
    let mut out = [0i32; 32];
    for (j, &q) in qs.iter().enumerate() {
        let lo_high = ((qh >> j) & 1) << 4;
        let hi_high = ((qh >> (j + 16)) & 1) << 4;
        out[j] = ((q & 0x0F) as u32 | lo_high) as i32 - 16;
        out[j + 16] = ((q >> 4) as u32 | hi_high) as i32 - 16;
    }
    out
}

/// Portable Q5_0 · Q8_0 dot product.
pub fn dot_scalar(w: &[u8], a: &[u8]) -> f32 {
    let mut sum = 0.0f32;
    for (wb, ab) in w
        .chunks_exact(Q5_0_BLOCK_BYTES)
        .zip(a.chunks_exact(Q8_0_BLOCK_BYTES))
    {
        let sumi: i32 = block_values(wb)
            .iter()
            .zip(&ab[2..])
            .map(|(&x, &y)| x * (y as i8 as i32))
            .sum();
        sum += f16_at(wb) * f16_at(ab) * sumi as f32;
    }
    sum
}

/// AVX2/FMA Q5_0 · Q8_0 dot product.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_avx2(w: &[u8], a: &[u8]) -> f32 {
    dot_rows_avx2::<1>(w, &[a])[0]
}

/// One Q5_0 weight row times each of `acts` (`N` Q8_0 rows): each result is
/// [`dot_avx2`] of the row and that token bit for bit (`ggml_vec_dot_q5_0_q8_0`'s 8
/// lanes, one FMA per block, `hsum_float_8`), with each block's weights decoded once
/// for all `N` tokens.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_rows_avx2<const N: usize>(w: &[u8], acts: &[&[u8]; N]) -> [f32; N] {
    use std::arch::x86_64::*;
    let low_mask = _mm256_set1_epi8(0x0F);
    // Byte i of the broadcast high bits selects bit (i mod 8) of qh byte i / 8.
    let spread = _mm256_setr_epi8(
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3,
        3, 3,
    );
    let bit = _mm256_set1_epi64x(0x8040_2010_0804_0201u64 as i64);
    let mut acc = [_mm256_setzero_ps(); N];
    for (b, wb) in w.chunks_exact(Q5_0_BLOCK_BYTES).enumerate() {
        let qh = u32::from_le_bytes([wb[2], wb[3], wb[4], wb[5]]);
        let nibbles = _mm_loadu_si128(wb.as_ptr().add(6) as *const __m128i);
        let both = _mm256_set_m128i(_mm_srli_epi16(nibbles, 4), nibbles);
        let low = _mm256_and_si256(both, low_mask);
        // 0xFF where the fifth bit is set.
        let bits = _mm256_shuffle_epi8(_mm256_set1_epi32(qh as i32), spread);
        let set = _mm256_cmpeq_epi8(_mm256_and_si256(bits, bit), bit);
        // nibble − 16 is nibble | 0xF0 as int8 when the fifth bit is clear.
        let x = _mm256_or_si256(
            low,
            _mm256_andnot_si256(set, _mm256_set1_epi8(0xF0u8 as i8)),
        );
        let dw = f16_at(wb);
        for (acc, a) in acc.iter_mut().zip(acts) {
            let ab = &a[b * Q8_0_BLOCK_BYTES..(b + 1) * Q8_0_BLOCK_BYTES];
            let y = _mm256_loadu_si256(ab.as_ptr().add(2) as *const __m256i);
            let sums = super::dot_i8_lanes(x, y);
            let d = _mm256_set1_ps(dw * f16_at(ab));
            *acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sums), *acc);
        }
    }
    acc.map(|v| super::hsum_ps(v))
}
