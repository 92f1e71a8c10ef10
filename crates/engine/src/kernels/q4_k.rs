//! Q4_K weights × Q8_K activations.
//!
//! Q4_K super-block (144 bytes): f16 `d`, f16 `dmin`, 12 bytes of packed 6-bit
//! scales and mins for 8 sub-blocks of 32, then 128 bytes of 4-bit quants (each
//! 32-byte group holds two sub-blocks: low nibbles, then high nibbles). A weight is
//! `d·scale·q − dmin·min`. Q8_K block (292 bytes): f32 `d`, 256 int8, 16 int16 sums
//! of 16 quants each.

use okla_formats::quant::k_affine::unpack_scale_mins;
use okla_formats::quant::q4_k::{DMIN_OFFSET, QS_OFFSET};
use okla_formats::quant::q8_k::{BSUMS_OFFSET, QS_OFFSET as A_QS_OFFSET};

use super::{f16_at, f32_at, Q4K_BLOCK_BYTES, Q8K_BLOCK_BYTES, TILE};

/// The 16 partial sums of a Q8_K block.
#[inline(always)]
pub(super) fn q8k_bsums(block: &[u8]) -> [i32; 16] {
    let mut sums = [0i32; 16];
    for (k, s) in sums.iter_mut().enumerate() {
        let o = BSUMS_OFFSET + 2 * k;
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
        let (scales, mins) = unpack_scale_mins(wb);
        let qs = &wb[QS_OFFSET..];
        let aq = &ab[A_QS_OFFSET..BSUMS_OFFSET];
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
            f16_at(&wb[DMIN_OFFSET..]) * da,
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
        let (scales, mins) = unpack_scale_mins(wb);
        let da = f32_at(ab);
        let qs = wb.as_ptr().add(QS_OFFSET);
        let aq = ab.as_ptr().add(A_QS_OFFSET);
        let group = |j: usize| {
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
            _mm256_add_epi32(p_lo, p_hi)
        };
        // A row alone folds only the block's total (integer, so summing the lanes of
        // all four groups once gives the same bits as four group sums added).
        let sums = if grouped {
            std::array::from_fn(|j| super::hsum_epi32(group(j)))
        } else {
            let total = _mm256_add_epi32(
                _mm256_add_epi32(group(0), group(1)),
                _mm256_add_epi32(group(2), group(3)),
            );
            [super::hsum_epi32(total), 0, 0, 0]
        };
        // Lane p: min p · (bsum 2p + bsum 2p + 1), the min doubled into both i16 halves.
        let mins16 = _mm256_cvtepu16_epi32(_mm_cvtepu8_epi16(_mm_loadl_epi64(
            mins.as_ptr() as *const __m128i
        )));
        let bsums = _mm256_loadu_si256(ab.as_ptr().add(BSUMS_OFFSET) as *const __m256i);
        let min_lanes = _mm256_madd_epi16(
            bsums,
            _mm256_or_si256(mins16, _mm256_slli_epi32(mins16, 16)),
        );
        let pair_mins = if grouped {
            let mut lanes = [0i32; 8];
            _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, min_lanes);
            std::array::from_fn(|j| lanes[2 * j] + lanes[2 * j + 1])
        } else {
            [super::hsum_epi32(min_lanes), 0, 0, 0]
        };
        fold.block(
            f16_at(wb) * da,
            f16_at(&wb[DMIN_OFFSET..]) * da,
            sums,
            pair_mins,
            grouped,
        );
    }
    fold.result()
}

/// AVX-512 Q4_K row × the `N` tokens of a Q8_K tile: `out[t]` is bit-identical to
/// [`dot_avx2`] of token `t`, grouped or not as the tile says. Each 128-bit lane
/// holds one 64-weight group, so the four group sums of eight tokens come out of one
/// transpose-and-add tree in token lanes, and the float side ([`Fold`]'s FMA chains)
/// runs for all tokens in one vector. A block's nibbles and scales are decoded once
/// for all tokens.
///
/// # Safety
/// The CPU must support AVX-512 F/BW/VL/VNNI, AVX2, FMA and F16C; `N == tile.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
#[inline]
pub unsafe fn tile_avx512<const N: usize>(w: &[u8], tile: &super::Q8kTile<'_>, out: &mut [f32]) {
    use std::arch::x86_64::*;
    debug_assert_eq!(tile.len(), N);
    let low4 = _mm512_set1_epi8(0xF);
    // i16 scale of sub-block 2j (low nibbles) or 2j + 1 (high nibbles) in lane j.
    let lane_of = |odd: i16| {
        let pick = |j: i16| _mm_set1_epi16(2 * j + odd);
        let lo = _mm256_set_m128i(pick(1), pick(0));
        let hi = _mm256_set_m128i(pick(3), pick(2));
        _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1)
    };
    let (pick_lo, pick_hi) = (lane_of(0), lane_of(1));
    // Lanes 0-3: token sums of group j from tokens 0-3; lanes 4-7: from tokens 4-7.
    let gather: [__m512i; 4] = std::array::from_fn(|j| {
        let j = 4 * j as i32;
        _mm512_setr_epi32(
            j,
            j + 1,
            j + 2,
            j + 3,
            16 + j,
            17 + j,
            18 + j,
            19 + j,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        )
    });
    let mut fold = TileFold::<N>::new(tile.grouped);
    for (b, wb) in w.chunks_exact(Q4K_BLOCK_BYTES).enumerate() {
        let (scales, mins) = unpack_scale_mins(wb);
        let scales16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_loadl_epi64(
            scales.as_ptr() as *const __m128i
        )));
        let (scale_lo, scale_hi) = (
            _mm512_permutexvar_epi16(pick_lo, scales16),
            _mm512_permutexvar_epi16(pick_hi, scales16),
        );
        // Chunk c, lane j: nibbles of elements 64j + 16c ..+16 (c < 2 low, else high).
        let qs = wb.as_ptr().add(QS_OFFSET);
        let first = _mm512_loadu_si512(qs as *const __m512i);
        let second = _mm512_loadu_si512(qs.add(64) as *const __m512i);
        let halves = [
            _mm512_shuffle_i64x2(first, second, 0x88),
            _mm512_shuffle_i64x2(first, second, 0xDD),
        ];
        let quants = [
            _mm512_and_si512(halves[0], low4),
            _mm512_and_si512(halves[1], low4),
            _mm512_and_si512(_mm512_srli_epi16(halves[0], 4), low4),
            _mm512_and_si512(_mm512_srli_epi16(halves[1], 4), low4),
        ];
        let lanes = &tile.lanes[b];
        let mut sums = [_mm512_setzero_si512(); 8];
        for (t, sum) in sums.iter_mut().enumerate().take(N) {
            let a = lanes[t].as_ptr();
            for (c, q) in quants.iter().enumerate() {
                let act = _mm512_loadu_si512(a.add(64 * c) as *const __m512i);
                let scale = if c < 2 { scale_lo } else { scale_hi };
                *sum = _mm512_dpwssd_epi32(*sum, _mm512_maddubs_epi16(*q, act), scale);
            }
        }
        // Four tokens per vector: lane j of each holds (token a, b, c, d) sums of group j.
        let quad = |s: &[__m512i]| {
            let ab = _mm512_add_epi32(
                _mm512_unpacklo_epi32(s[0], s[1]),
                _mm512_unpackhi_epi32(s[0], s[1]),
            );
            let cd = _mm512_add_epi32(
                _mm512_unpacklo_epi32(s[2], s[3]),
                _mm512_unpackhi_epi32(s[2], s[3]),
            );
            _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd))
        };
        let (low, high) = (quad(&sums[..4]), quad(&sums[4..]));
        let group_sums: [__m256i; 4] = std::array::from_fn(|j| {
            _mm512_castsi512_si256(_mm512_permutex2var_epi32(low, gather[j], high))
        });
        fold.block(tile, b, wb, &mins, &group_sums);
    }
    fold.store(out);
}

/// The float steps of a Q4_K tile: [`Fold`] for every token lane at once. Each token's
/// lane folds its four 64-weight group sums one by one (a token of a group of four)
/// or as one total (a token alone), as the tile's `grouped` bits say; `acc` and
/// `acc_min` hold the running sums of `d · Σ` and `dmin · Σ min · bsum`.
#[cfg(target_arch = "x86_64")]
struct TileFold<const N: usize> {
    /// Blend mask of the tokens of a group of four.
    grouped: std::arch::x86_64::__m256,
    /// Blend mask of the tokens alone.
    single: std::arch::x86_64::__m256,
    any_grouped: bool,
    any_single: bool,
    acc: std::arch::x86_64::__m256,
    acc_min: std::arch::x86_64::__m256,
}

#[cfg(target_arch = "x86_64")]
impl<const N: usize> TileFold<N> {
    /// A fold of `N` tokens whose bit `t` of `grouped` is set for token `t` of a group of
    /// four.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn new(grouped: u32) -> Self {
        use std::arch::x86_64::*;
        let single = ((1u32 << N) - 1) & !grouped;
        let mask = |bits: u32| {
            let lanes: [i32; 8] = std::array::from_fn(|t| -((bits >> t & 1) as i32));
            _mm256_castsi256_ps(_mm256_loadu_si256(lanes.as_ptr() as *const __m256i))
        };
        Self {
            grouped: mask(grouped),
            single: mask(single),
            any_grouped: grouped != 0,
            any_single: single != 0,
            acc: _mm256_setzero_ps(),
            acc_min: _mm256_setzero_ps(),
        }
    }

    /// [`Fold::block`] of super-block `b` (weights `wb`, unpacked `mins`) for every token
    /// lane of `tile`, given the tokens' four 64-weight group sums in token lanes.
    ///
    /// # Safety
    /// The CPU must support AVX2, FMA and F16C.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    unsafe fn block(
        &mut self,
        tile: &super::Q8kTile<'_>,
        b: usize,
        wb: &[u8],
        mins: &[u8; 8],
        group_sums: &[std::arch::x86_64::__m256i; 4],
    ) {
        use std::arch::x86_64::*;
        // Σ min · bsum of each 64-weight group, for every token.
        let pairs = &tile.sum_pairs[b];
        let group_mins: [__m256i; 4] = std::array::from_fn(|j| {
            let part = |p: usize| {
                let m = _mm256_set1_epi32(mins[p] as i32 * 0x1_0001);
                _mm256_madd_epi16(_mm256_loadu_si256(pairs[p].as_ptr() as *const __m256i), m)
            };
            _mm256_add_epi32(part(2 * j), part(2 * j + 1))
        });
        // The block's f16 `d` and `dmin` (bytes 0..4) converted in one instruction.
        const _: () = assert!(DMIN_OFFSET == 2, "dmin follows d");
        let scales = _mm_cvtph_ps(_mm_cvtsi32_si128(i32::from_le_bytes([
            wb[0], wb[1], wb[2], wb[3],
        ])));
        let da = _mm256_loadu_ps(tile.scales[b].as_ptr());
        let d = _mm256_mul_ps(_mm256_broadcastss_ps(scales), da);
        let dmin = _mm256_mul_ps(_mm256_broadcastss_ps(_mm_movehdup_ps(scales)), da);
        if self.any_grouped {
            let (mut a, mut m) = (self.acc, self.acc_min);
            for j in 0..4 {
                a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(group_sums[j]), d, a);
                m = _mm256_fmadd_ps(_mm256_cvtepi32_ps(group_mins[j]), dmin, m);
            }
            self.acc = _mm256_blendv_ps(self.acc, a, self.grouped);
            self.acc_min = _mm256_blendv_ps(self.acc_min, m, self.grouped);
        }
        if self.any_single {
            let total = |v: &[__m256i; 4]| {
                _mm256_add_epi32(_mm256_add_epi32(v[0], v[1]), _mm256_add_epi32(v[2], v[3]))
            };
            let a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total(group_sums)), d, self.acc);
            let m = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total(&group_mins)), dmin, self.acc_min);
            self.acc = _mm256_blendv_ps(self.acc, a, self.single);
            self.acc_min = _mm256_blendv_ps(self.acc_min, m, self.single);
        }
    }

    /// Writes the tile's `N` results, `acc − acc_min` per token lane.
    ///
    /// # Safety
    /// The CPU must support AVX.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn store(&self, out: &mut [f32]) {
        use std::arch::x86_64::*;
        let mut result = [0.0f32; 8];
        _mm256_storeu_ps(result.as_mut_ptr(), _mm256_sub_ps(self.acc, self.acc_min));
        out[..N].copy_from_slice(&result[..N]);
    }
}

/// Four tokens' 8-lane sums reduced per 128-bit lane: lane `k` of half `h` of the
/// result is the sum of the four lanes of half `h` of `s[k]` (exact).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn quad_sums(s: &[std::arch::x86_64::__m256i]) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    let ab = _mm256_add_epi32(
        _mm256_unpacklo_epi32(s[0], s[1]),
        _mm256_unpackhi_epi32(s[0], s[1]),
    );
    let cd = _mm256_add_epi32(
        _mm256_unpacklo_epi32(s[2], s[3]),
        _mm256_unpackhi_epi32(s[2], s[3]),
    );
    _mm256_add_epi32(_mm256_unpacklo_epi64(ab, cd), _mm256_unpackhi_epi64(ab, cd))
}

/// AVX2 Q4_K row × the `N` tokens of a Q8_K tile: `out[t]` is bit-identical to
/// [`dot_avx2`] of token `t`, grouped or not as the tile says. A block's nibbles and
/// scales are decoded once for all tokens; each 128-bit lane holds one 64-weight group
/// (two per vector, the tile's quant order), so the group sums of eight tokens come out
/// of one transpose-and-add tree in token lanes and [`Fold`] runs for all of them in
/// one vector.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C; `N == tile.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub unsafe fn tile_avx2<const N: usize>(w: &[u8], tile: &super::Q8kTile<'_>, out: &mut [f32]) {
    use std::arch::x86_64::*;
    debug_assert_eq!(tile.len(), N);
    let low4 = _mm256_set1_epi8(0xF);
    // Byte shuffle putting i16 scale `lo` in every word of the low lane, `hi` in the high.
    let pick = |lo: i8, hi: i8| {
        // Bytes 2k, 2k + 1 in every 16-bit word: i16 `k` read little-endian.
        let word = |k: i8| _mm_set1_epi16(i16::from_le_bytes([2 * k as u8, 2 * k as u8 + 1]));
        _mm256_set_m128i(word(hi), word(lo))
    };
    // [half h][odd]: the vector of groups 2h and 2h + 1 takes sub-block scales
    // 4h + odd (low lane) and 4h + 2 + odd (high lane).
    let picks: [[__m256i; 2]; 2] = std::array::from_fn(|h| {
        std::array::from_fn(|odd| pick(4 * h as i8 + odd as i8, 4 * h as i8 + 2 + odd as i8))
    });
    let mut fold = TileFold::<N>::new(tile.grouped);
    for (b, wb) in w.chunks_exact(Q4K_BLOCK_BYTES).enumerate() {
        let (scales, mins) = unpack_scale_mins(wb);
        let scales16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_loadl_epi64(
            scales.as_ptr() as *const __m128i,
        )));
        let qs = wb.as_ptr().add(QS_OFFSET);
        let lanes = &tile.lanes[b];
        // One half (two groups) at a time keeps its decoded quants in registers.
        let mut sums = [[_mm256_setzero_si256(); TILE]; 2];
        for (h, sums) in sums.iter_mut().enumerate() {
            // Chunk c: elements 64j + 16c ..+16 of groups j = 2h, 2h + 1.
            let v0 = _mm256_loadu_si256(qs.add(64 * h) as *const __m256i);
            let v1 = _mm256_loadu_si256(qs.add(64 * h + 32) as *const __m256i);
            let (first, second) = (
                _mm256_permute2x128_si256(v0, v1, 0x20),
                _mm256_permute2x128_si256(v0, v1, 0x31),
            );
            let quants = [
                _mm256_and_si256(first, low4),
                _mm256_and_si256(second, low4),
                _mm256_and_si256(_mm256_srli_epi16(first, 4), low4),
                _mm256_and_si256(_mm256_srli_epi16(second, 4), low4),
            ];
            let scale_of: [__m256i; 2] =
                std::array::from_fn(|odd| _mm256_shuffle_epi8(scales16, picks[h][odd]));
            for (t, sum) in sums.iter_mut().enumerate().take(N) {
                let a = lanes[t].as_ptr().add(32 * h);
                let product = |c: usize| {
                    let act = _mm256_loadu_si256(a.add(64 * c) as *const __m256i);
                    _mm256_maddubs_epi16(quants[c], act)
                };
                // Chunks 2k and 2k + 1 share a scale; their i16 pair sums add exactly
                // (|Σ| ≤ 4 · 15 · 128 < 2^15) before the one scaling `madd`.
                *sum = _mm256_add_epi32(
                    _mm256_madd_epi16(_mm256_add_epi16(product(0), product(1)), scale_of[0]),
                    _mm256_madd_epi16(_mm256_add_epi16(product(2), product(3)), scale_of[1]),
                );
            }
        }
        let mut group_sums = [_mm256_setzero_si256(); 4];
        for (h, sums) in sums.iter().enumerate() {
            let (low, high) = (quad_sums(&sums[..4]), quad_sums(&sums[4..]));
            group_sums[2 * h] = _mm256_permute2x128_si256(low, high, 0x20);
            group_sums[2 * h + 1] = _mm256_permute2x128_si256(low, high, 0x31);
        }
        fold.block(tile, b, wb, &mins, &group_sums);
    }
    fold.store(out);
}

/// A Q4_K super-block decoded once for the panel kernel, which meets it with every
/// panel of a batch: the quants as bytes in element order (four per `u32`, ready to
/// broadcast), the sub-block scales, the mins doubled into both `i16` halves (to
/// `madd` against a pair of group sums), and the two f16 scales as f32.
#[derive(Debug, Clone, Copy)]
pub struct Q4kDecoded {
    quads: [u32; super::q8k_panel::QUADS],
    scales: [i32; 8],
    mins: [i32; 8],
    d: f32,
    dmin: f32,
}

impl Q4kDecoded {
    /// Decodes one Q4_K super-block (144 bytes).
    pub fn new(wb: &[u8]) -> Self {
        let (scales, mins) = unpack_scale_mins(wb);
        let qs = &wb[QS_OFFSET..QS_OFFSET + 128];
        let mut bytes = [0u8; 256];
        for (j, q) in qs.chunks_exact(32).enumerate() {
            for (l, v) in q.iter().enumerate() {
                bytes[64 * j + l] = v & 0xF;
                bytes[64 * j + 32 + l] = v >> 4;
            }
        }
        Self {
            quads: std::array::from_fn(|k| {
                u32::from_le_bytes([
                    bytes[4 * k],
                    bytes[4 * k + 1],
                    bytes[4 * k + 2],
                    bytes[4 * k + 3],
                ])
            }),
            scales: scales.map(i32::from),
            mins: mins.map(|m| m as i32 * 0x1_0001),
            d: f16_at(wb),
            dmin: f16_at(&wb[DMIN_OFFSET..]),
        }
    }
}

/// AVX-512 VNNI: `R` decoded Q4_K rows × the tokens of a Q8_K panel, `out[r][t]`
/// bit-identical to [`dot_avx2`] of row `r` and token `t`, grouped or not as the panel
/// says. Each lane is a token: one `vpdpbusd` adds four weights × four quants for all
/// sixteen tokens, a sub-block's sum takes its scale by one `vpmulld`, and [`Fold`]'s
/// FMA chains run per lane (masked FMAs: each 64-weight group's for grouped tokens,
/// the block's total for the others). The integer sums are exact, so any order of
/// them gives the kernels' results. Lanes past the panel's tokens come out 0.
///
/// # Safety
/// The CPU must support AVX-512 F/BW/VL/VNNI, AVX2, FMA and F16C; every row holds
/// `panel.blocks()` blocks.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
#[inline]
pub unsafe fn panel_avx512<const R: usize>(
    rows: [&[Q4kDecoded]; R],
    panel: &super::Q8kPanel,
    out: &mut [[f32; super::PANEL]; R],
) {
    use std::arch::x86_64::*;
    let grouped = panel.grouped as __mmask16;
    let single = !grouped;
    let mut acc = [_mm512_setzero_ps(); R];
    let mut acc_min = [_mm512_setzero_ps(); R];
    let blocks = panel.quads.iter().zip(&panel.sum_pairs).zip(&panel.scales);
    for (b, ((quads, pairs), scales)) in blocks.enumerate() {
        let da = _mm512_loadu_ps(scales.as_ptr());
        let mut total = [_mm512_setzero_si512(); R];
        for j in 0..4 {
            let mut group = [_mm512_setzero_si512(); R];
            for s in 2 * j..2 * j + 2 {
                let mut sub = [_mm512_setzero_si512(); R];
                for (k, lanes) in quads.iter().enumerate().skip(8 * s).take(8) {
                    let a = _mm512_loadu_si512(lanes.as_ptr() as *const __m512i);
                    for r in 0..R {
                        let w = _mm512_set1_epi32(rows[r][b].quads[k] as i32);
                        sub[r] = _mm512_dpbusd_epi32(sub[r], w, a);
                    }
                }
                for r in 0..R {
                    let scale = _mm512_set1_epi32(rows[r][b].scales[s]);
                    group[r] = _mm512_add_epi32(group[r], _mm512_mullo_epi32(sub[r], scale));
                }
            }
            for r in 0..R {
                let d = _mm512_mul_ps(_mm512_set1_ps(rows[r][b].d), da);
                let sum = _mm512_cvtepi32_ps(group[r]);
                acc[r] = _mm512_mask3_fmadd_ps(sum, d, acc[r], grouped);
                total[r] = _mm512_add_epi32(total[r], group[r]);
            }
        }
        // Σ min · bsum of each 64-weight group, for every token.
        let pair = |p: usize| _mm512_loadu_si512(pairs[p].as_ptr() as *const __m512i);
        for r in 0..R {
            let block = &rows[r][b];
            let d = _mm512_mul_ps(_mm512_set1_ps(block.d), da);
            let dmin = _mm512_mul_ps(_mm512_set1_ps(block.dmin), da);
            let part = |p: usize| _mm512_madd_epi16(pair(p), _mm512_set1_epi32(block.mins[p]));
            let mut total_min = _mm512_setzero_si512();
            for j in 0..4 {
                let mins = _mm512_add_epi32(part(2 * j), part(2 * j + 1));
                let sum = _mm512_cvtepi32_ps(mins);
                acc_min[r] = _mm512_mask3_fmadd_ps(sum, dmin, acc_min[r], grouped);
                total_min = _mm512_add_epi32(total_min, mins);
            }
            let sum = _mm512_cvtepi32_ps(total[r]);
            acc[r] = _mm512_mask3_fmadd_ps(sum, d, acc[r], single);
            let sum = _mm512_cvtepi32_ps(total_min);
            acc_min[r] = _mm512_mask3_fmadd_ps(sum, dmin, acc_min[r], single);
        }
    }
    for (o, (a, m)) in out.iter_mut().zip(acc.iter().zip(&acc_min)) {
        _mm512_storeu_ps(o.as_mut_ptr(), _mm512_sub_ps(*a, *m));
    }
}
