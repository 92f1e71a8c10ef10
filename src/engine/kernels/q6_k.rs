//! Q6_K weights × Q8_K activations.
//!
//! Q6_K super-block (210 bytes): 128 bytes of low 4 bits, 64 bytes of high 2 bits,
//! 16 int8 scales (one per 16 weights), f16 `d`. A weight is `d·scale·(q − 32)` with
//! `q` in 0..64. Each half of 128 weights uses 64 low bytes and 32 high bytes: for
//! `l` in 0..32, weights `l`, `l+32`, `l+64`, `l+96` take the low/high nibbles of
//! bytes `l` and `l+32` and bit pairs 0-1, 2-3, 4-5, 6-7 of high byte `l`.

use super::q4_k::q8k_bsums;
use super::{f16_at, f32_at, Q6K_BLOCK_BYTES, Q8K_BLOCK_BYTES};

/// The unsigned 6-bit quant `k` (0..4) of position `l` (0..32) in a half-block.
#[inline(always)]
fn quant(ql: &[u8], qh: &[u8], l: usize, k: usize) -> i32 {
    let low = match k {
        0 => ql[l] & 0xF,
        1 => ql[l + 32] & 0xF,
        2 => ql[l] >> 4,
        _ => ql[l + 32] >> 4,
    };
    let high = (qh[l] >> (2 * k)) & 3;
    (low | (high << 4)) as i32
}

/// The float side of a Q6_K row dot product. `ggml_vec_dot_q6_K_q8_K` (AVX2) keeps,
/// per super-block, 8 integer lanes (lane `i` holds the weights `4i..4i+4` of each
/// 32-wide group, minus `32·Σ scale·bsum` of 16-groups `2i` and `2i+1`), folds each
/// into its own accumulator by FMA with `da·d` and sums them like `hsum_float_8`;
/// the tiled matmul (`tiled`) does `acc ← fma(Σ lanes · d, da, acc)` once per
/// super-block (GCC contracts its multiply-add).
struct Fold {
    lanes: [f32; 8],
    tiled: Option<f32>,
}

impl Fold {
    fn new(tiled: bool) -> Self {
        Self {
            lanes: [0.0; 8],
            tiled: tiled.then_some(0.0),
        }
    }

    #[inline(always)]
    fn block(&mut self, d: f32, da: f32, lanes: [i32; 8]) {
        match &mut self.tiled {
            Some(acc) => *acc = (lanes.iter().sum::<i32>() as f32 * d).mul_add(da, *acc),
            None => {
                for (acc, lane) in self.lanes.iter_mut().zip(lanes) {
                    *acc = (lane as f32).mul_add(da * d, *acc);
                }
            }
        }
    }

    fn result(&self) -> f32 {
        self.tiled.unwrap_or_else(|| super::hsum8(&self.lanes))
    }
}

/// Portable Q6_K · Q8_K dot product (`tiled`: see [`Fold`]).
pub fn dot_scalar(w: &[u8], a: &[u8], tiled: bool) -> f32 {
    let mut fold = Fold::new(tiled);
    for (wb, ab) in w
        .chunks_exact(Q6K_BLOCK_BYTES)
        .zip(a.chunks_exact(Q8K_BLOCK_BYTES))
    {
        let scales = &wb[192..208];
        let aq = &ab[4..260];
        let bsums = q8k_bsums(ab);
        let mut lanes = [0i32; 8];
        for half in 0..2 {
            let ql = &wb[64 * half..64 * half + 64];
            let qh = &wb[128 + 32 * half..128 + 32 * half + 32];
            for k in 0..4 {
                for l in 0..32 {
                    let e = 128 * half + 32 * k + l;
                    let scale = scales[e / 16] as i8 as i32;
                    lanes[l / 4] += scale * quant(ql, qh, l, k) * aq[e] as i8 as i32;
                }
            }
        }
        for (i, lane) in lanes.iter_mut().enumerate() {
            *lane -= 32
                * (scales[2 * i] as i8 as i32 * bsums[2 * i]
                    + scales[2 * i + 1] as i8 as i32 * bsums[2 * i + 1]);
        }
        fold.block(f16_at(&wb[208..]), f32_at(ab), lanes);
    }
    fold.result()
}

/// AVX2/FMA Q6_K · Q8_K dot product (`tiled`: see [`Fold`]).
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_avx2(w: &[u8], a: &[u8], tiled: bool) -> f32 {
    use std::arch::x86_64::*;
    let low4 = _mm256_set1_epi8(0xF);
    let two_bits = _mm256_set1_epi8(3);
    let mut fold = Fold::new(tiled);
    for (wb, ab) in w
        .chunks_exact(Q6K_BLOCK_BYTES)
        .zip(a.chunks_exact(Q8K_BLOCK_BYTES))
    {
        let scales = &wb[192..208];
        let aq = ab.as_ptr().add(4);
        let mut sumi = _mm256_setzero_si256();
        for half in 0..2 {
            let ql = wb.as_ptr().add(64 * half);
            let qh = _mm256_loadu_si256(wb.as_ptr().add(128 + 32 * half) as *const __m256i);
            let ql0 = _mm256_loadu_si256(ql as *const __m256i);
            let ql1 = _mm256_loadu_si256(ql.add(32) as *const __m256i);
            let high = |shift: i32| {
                let h = match shift {
                    0 => qh,
                    2 => _mm256_srli_epi16(qh, 2),
                    4 => _mm256_srli_epi16(qh, 4),
                    _ => _mm256_srli_epi16(qh, 6),
                };
                _mm256_slli_epi16(_mm256_and_si256(h, two_bits), 4)
            };
            let quants = [
                _mm256_or_si256(_mm256_and_si256(ql0, low4), high(0)),
                _mm256_or_si256(_mm256_and_si256(ql1, low4), high(2)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4), high(4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4), high(6)),
            ];
            for (k, q) in quants.into_iter().enumerate() {
                let g = 8 * half + 2 * k;
                let s_lo = scales[g] as i8 as i16;
                let s_hi = scales[g + 1] as i8 as i16;
                let scale = _mm256_set_m128i(_mm_set1_epi16(s_hi), _mm_set1_epi16(s_lo));
                let act = _mm256_loadu_si256(aq.add(128 * half + 32 * k) as *const __m256i);
                let prod = _mm256_madd_epi16(_mm256_maddubs_epi16(q, act), scale);
                sumi = _mm256_add_epi32(sumi, prod);
            }
        }
        // 32 · (scale · bsum) of 16-groups 2i and 2i+1, subtracted from lane i.
        let bsums = _mm256_loadu_si256(ab.as_ptr().add(260) as *const __m256i);
        let scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(scales.as_ptr() as *const __m128i));
        let offset = _mm256_slli_epi32(_mm256_madd_epi16(bsums, scales16), 5);
        let mut lanes = [0i32; 8];
        _mm256_storeu_si256(
            lanes.as_mut_ptr() as *mut __m256i,
            _mm256_sub_epi32(sumi, offset),
        );
        fold.block(f16_at(&wb[208..]), f32_at(ab), lanes);
    }
    fold.result()
}
