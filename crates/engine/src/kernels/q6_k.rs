//! Q6_K weights × Q8_K activations.
//!
//! Q6_K super-block (210 bytes): 128 bytes of low 4 bits, 64 bytes of high 2 bits,
//! 16 int8 scales (one per 16 weights), f16 `d`. A weight is `d·scale·(q − 32)` with
//! `q` in 0..64. Each half of 128 weights uses 64 low bytes and 32 high bytes: for
//! `l` in 0..32, weights `l`, `l+32`, `l+64`, `l+96` take the low/high nibbles of
//! bytes `l` and `l+32` and bit pairs 0-1, 2-3, 4-5, 6-7 of high byte `l`.

use super::q4_k::q8k_bsums;
use super::{f16_at, f32_at, Q6K_BLOCK_BYTES, Q8K_BLOCK_BYTES, TILE};

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

/// A Q6_K super-block's 256 quants as unsigned bytes, 32 per vector in the Q8_K
/// block's element order, each with its vector of `i16` scales (the scale of the
/// first 16 elements in the low 128-bit lane, of the last 16 in the high one).
///
/// # Safety
/// The CPU must support AVX2; `wb` is one Q6_K super-block.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn decode_avx2(wb: &[u8]) -> [(std::arch::x86_64::__m256i, std::arch::x86_64::__m256i); 8] {
    use std::arch::x86_64::*;
    let low4 = _mm256_set1_epi8(0xF);
    let two_bits = _mm256_set1_epi8(3);
    let scales = _mm_loadu_si128(wb.as_ptr().add(192) as *const __m128i);
    let mut decoded = [(_mm256_setzero_si256(), _mm256_setzero_si256()); 8];
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
            // Scale g in the low lane's 8 words, g + 1 in the high lane's.
            let g = (8 * half + 2 * k) as u8;
            let pick = _mm_set_epi64x(i64::from_le_bytes([g + 1; 8]), i64::from_le_bytes([g; 8]));
            decoded[4 * half + k] = (q, _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, pick)));
        }
    }
    decoded
}

/// The 8 integer lanes of ggml's AVX2 Q6_K kernel for one super-block (decoded by
/// [`decode_avx2`]) and one Q8_K block `ab`: lane `i` sums weights `4i..4i+4` of each
/// 32-wide group, minus `32 · Σ scale · bsum` of 16-groups `2i` and `2i + 1`.
///
/// # Safety
/// The CPU must support AVX2; `ab` points at a whole Q8_K block.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn block_lanes_avx2(
    decoded: &[(std::arch::x86_64::__m256i, std::arch::x86_64::__m256i); 8],
    scales16: std::arch::x86_64::__m256i,
    ab: *const u8,
) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    let aq = ab.add(4);
    let mut sumi = _mm256_setzero_si256();
    for (i, (q, scale)) in decoded.iter().enumerate() {
        let act = _mm256_loadu_si256(aq.add(32 * i) as *const __m256i);
        sumi = _mm256_add_epi32(
            sumi,
            _mm256_madd_epi16(_mm256_maddubs_epi16(*q, act), *scale),
        );
    }
    let bsums = _mm256_loadu_si256(ab.add(260) as *const __m256i);
    let offset = _mm256_slli_epi32(_mm256_madd_epi16(bsums, scales16), 5);
    _mm256_sub_epi32(sumi, offset)
}

/// The 16 signed scales of a Q6_K super-block as `i16` lanes.
///
/// # Safety
/// The CPU must support AVX2; `wb` is one Q6_K super-block.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn scales16_avx2(wb: &[u8]) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    _mm256_cvtepi8_epi16(_mm_loadu_si128(wb.as_ptr().add(192) as *const __m128i))
}

/// AVX2/FMA Q6_K · Q8_K dot product (`tiled`: see [`Fold`]).
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_avx2(w: &[u8], a: &[u8], tiled: bool) -> f32 {
    use std::arch::x86_64::*;
    let mut fold = TileFold::<1>::new(tiled);
    for (wb, ab) in w
        .chunks_exact(Q6K_BLOCK_BYTES)
        .zip(a.chunks_exact(Q8K_BLOCK_BYTES))
    {
        let dw = f16_at(&wb[208..]);
        let sumi = block_lanes_avx2(&decode_avx2(wb), scales16_avx2(wb), ab.as_ptr());
        fold.token(0, sumi, ab.as_ptr(), dw);
        fold.block(_mm256_set1_ps(f32_at(ab)), dw);
    }
    let mut out = [0.0];
    fold.store(&mut out);
    out[0]
}

/// AVX2 Q6_K row × the `N` tokens of a Q8_K tile: `out[t]` is bit-identical to
/// [`dot_avx2`] of token `t` with the tile's `tiled`. A block's 6-bit quants and
/// scales are decoded once for all tokens; [`Fold`]'s steps run per token (a tiled
/// tile's `fma(Σ · d, da, acc)` for all tokens in one vector).
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C; `N == tile.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub unsafe fn tile_avx2<const N: usize>(w: &[u8], tile: &super::Q8kTile<'_>, out: &mut [f32]) {
    debug_assert_eq!(tile.len(), N);
    let rows: [*const u8; N] = std::array::from_fn(|t| tile.row(t).as_ptr());
    let mut fold = TileFold::<N>::new(tile.tiled);
    for (b, wb) in w.chunks_exact(Q6K_BLOCK_BYTES).enumerate() {
        let (decoded, scales16) = (decode_avx2(wb), scales16_avx2(wb));
        let dw = f16_at(&wb[208..]);
        for (t, row) in rows.iter().enumerate() {
            let ab = row.add(b * Q8K_BLOCK_BYTES);
            fold.token(t, block_lanes_avx2(&decoded, scales16, ab), ab, dw);
        }
        fold.block(
            std::arch::x86_64::_mm256_loadu_ps(tile.scales[b].as_ptr()),
            dw,
        );
    }
    fold.store(out);
}

/// The float steps of a Q6_K tile ([`Fold`] for `N` tokens): untiled, each token's 8
/// lanes take `fma(da · d, Σ, acc)` per block and are summed in ggml's order at the
/// end; tiled, each token's exact block sum waits in `sums` until the block's
/// `fma(Σ · d, da, acc)` runs for all tokens in one vector.
#[cfg(target_arch = "x86_64")]
struct TileFold<const N: usize> {
    tiled: bool,
    acc: [std::arch::x86_64::__m256; N],
    sums: [i32; TILE],
    tiled_acc: std::arch::x86_64::__m256,
}

#[cfg(target_arch = "x86_64")]
impl<const N: usize> TileFold<N> {
    /// An empty fold.
    ///
    /// # Safety
    /// The CPU must support AVX.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn new(tiled: bool) -> Self {
        use std::arch::x86_64::*;
        Self {
            tiled,
            acc: [_mm256_setzero_ps(); N],
            sums: [0; TILE],
            tiled_acc: _mm256_setzero_ps(),
        }
    }

    /// Token `t`'s corrected lane sums `sumi` of a block whose f16 scale is `dw`;
    /// `ab` is the token's Q8_K block.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA; `ab` holds the block's 4-byte scale.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn token(&mut self, t: usize, sumi: std::arch::x86_64::__m256i, ab: *const u8, dw: f32) {
        use std::arch::x86_64::*;
        if self.tiled {
            self.sums[t] = super::hsum_epi32(sumi);
        } else {
            let d = f32_at(std::slice::from_raw_parts(ab, 4)) * dw;
            self.acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), self.acc[t]);
        }
    }

    /// Closes a block of scale `dw` after every token's [`TileFold::token`]; lane `t` of
    /// `da` is token `t`'s Q8_K scale of the block.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn block(&mut self, da: std::arch::x86_64::__m256, dw: f32) {
        use std::arch::x86_64::*;
        if self.tiled {
            let sums = _mm256_cvtepi32_ps(_mm256_loadu_si256(self.sums.as_ptr() as *const __m256i));
            self.tiled_acc =
                _mm256_fmadd_ps(_mm256_mul_ps(sums, _mm256_set1_ps(dw)), da, self.tiled_acc);
        }
    }

    /// Writes the `N` results: the tiled accumulator's lanes, or each token's 8 lanes
    /// summed in ggml's order.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn store(&self, out: &mut [f32]) {
        use std::arch::x86_64::*;
        if self.tiled {
            let mut lanes = [0.0f32; TILE];
            _mm256_storeu_ps(lanes.as_mut_ptr(), self.tiled_acc);
            out[..N].copy_from_slice(&lanes[..N]);
        } else {
            for (t, o) in out.iter_mut().enumerate().take(N) {
                *o = super::hsum_ps(self.acc[t]);
            }
        }
    }
}

/// AVX-512 Q6_K row × the `N` tokens of a Q8_K tile: `out[t]` is bit-identical to
/// [`dot_avx2`] of token `t` with the tile's `tiled` (the 16 integer lanes fold onto
/// the AVX2 kernel's 8 before the same offset correction and float steps; a tiled
/// tile sums them exactly and does [`Fold`]'s `fma(Σ · d, da, acc)` for all tokens in
/// one vector). A block's 6-bit quants and scales are decoded once for all tokens.
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
    let two_bits = _mm512_set1_epi8(3);
    // Per-half shifts of the high bits: quants 0|1 take bits 0-1|2-3, quants 2|3 bits 4-5|6-7.
    let halves =
        |lo: i16, hi: i16| _mm512_inserti64x4(_mm512_set1_epi16(lo), _mm256_set1_epi16(hi), 1);
    let (shift01, shift23) = (halves(0, 2), halves(4, 6));
    // Vector m covers groups 4m..4m+4, one per 128-bit lane (8 i16 each).
    let pick: [__m512i; 4] = std::array::from_fn(|m| {
        let g = 4 * m as i16;
        _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_set_m128i(_mm_set1_epi16(g + 1), _mm_set1_epi16(g))),
            _mm256_set_m128i(_mm_set1_epi16(g + 3), _mm_set1_epi16(g + 2)),
            1,
        )
    });
    let rows: [*const u8; N] = std::array::from_fn(|t| tile.row(t).as_ptr());
    let mut fold = TileFold::<N>::new(tile.tiled);
    for (b, wb) in w.chunks_exact(Q6K_BLOCK_BYTES).enumerate() {
        let scales16 =
            _mm256_cvtepi8_epi16(_mm_loadu_si128(wb.as_ptr().add(192) as *const __m128i));
        let dw = f16_at(&wb[208..]);
        let mut quants = [(_mm512_setzero_si512(), _mm512_setzero_si512()); 4];
        for half in 0..2 {
            let ql = _mm512_loadu_si512(wb.as_ptr().add(64 * half) as *const __m512i);
            let qh = _mm512_broadcast_i64x4(_mm256_loadu_si256(
                wb.as_ptr().add(128 + 32 * half) as *const __m256i
            ));
            let high = |shift| {
                _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, shift), two_bits), 4)
            };
            let q01 = _mm512_or_si512(_mm512_and_si512(ql, low4), high(shift01));
            let q23 = _mm512_or_si512(
                _mm512_and_si512(_mm512_srli_epi16(ql, 4), low4),
                high(shift23),
            );
            for (m, q) in [(2 * half, q01), (2 * half + 1, q23)] {
                let scale = _mm512_permutexvar_epi16(pick[m], _mm512_castsi256_si512(scales16));
                quants[m] = (q, scale);
            }
        }
        let offset = b * Q8K_BLOCK_BYTES;
        for (t, row) in rows.iter().enumerate() {
            let ab = row.add(offset);
            let aq = ab.add(4);
            let mut sumi = _mm512_setzero_si512();
            for (m, (q, scale)) in quants.iter().enumerate() {
                let a = _mm512_loadu_si512(aq.add(64 * m) as *const __m512i);
                sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(*q, a), *scale);
            }
            let folded = _mm256_add_epi32(
                _mm512_castsi512_si256(sumi),
                _mm512_extracti64x4_epi64(sumi, 1),
            );
            // 32 · (scale · bsum) of 16-groups 2i and 2i+1, subtracted from lane i.
            let bsums = _mm256_loadu_si256(ab.add(260) as *const __m256i);
            let correction = _mm256_slli_epi32(_mm256_madd_epi16(bsums, scales16), 5);
            fold.token(t, _mm256_sub_epi32(folded, correction), ab, dw);
        }
        fold.block(_mm256_loadu_ps(tile.scales[b].as_ptr()), dw);
    }
    fold.store(out);
}

/// A Q6_K super-block decoded once for the panel kernel: the unsigned 6-bit quants
/// as bytes in element order (four per `u32`), the 16 signed scales, the scales of
/// each pair of 16-groups packed as two `i16` (to `madd` against a pair of group
/// sums), and `d` as f32.
#[derive(Debug, Clone, Copy)]
pub struct Q6kDecoded {
    quads: [u32; super::q8k_panel::QUADS],
    scales: [i32; 16],
    scale_pairs: [i32; 8],
    d: f32,
}

impl Q6kDecoded {
    /// Decodes one Q6_K super-block (210 bytes).
    pub fn new(wb: &[u8]) -> Self {
        let mut bytes = [0u8; 256];
        for half in 0..2 {
            let ql = &wb[64 * half..64 * half + 64];
            let qh = &wb[128 + 32 * half..128 + 32 * half + 32];
            for k in 0..4 {
                for l in 0..32 {
                    bytes[128 * half + 32 * k + l] = quant(ql, qh, l, k) as u8;
                }
            }
        }
        let scales: [i32; 16] = std::array::from_fn(|g| wb[192 + g] as i8 as i32);
        Self {
            quads: std::array::from_fn(|k| {
                u32::from_le_bytes([
                    bytes[4 * k],
                    bytes[4 * k + 1],
                    bytes[4 * k + 2],
                    bytes[4 * k + 3],
                ])
            }),
            scales,
            scale_pairs: std::array::from_fn(|i| {
                (scales[2 * i] as u16 as i32) | ((scales[2 * i + 1] as u16 as i32) << 16)
            }),
            d: f16_at(&wb[208..]),
        }
    }
}

/// AVX-512 VNNI: `R` decoded Q6_K rows × the tokens of a Q8_K panel of a tiled batch
/// (8 tokens or more), `out[r][t]` bit-identical to [`dot_avx2`] of row `r` and token
/// `t` with `tiled`. Each lane is a token: one `vpdpbusd` adds four weights × four
/// quants for all sixteen tokens, each 16-group's sum takes its scale by one
/// `vpmulld`, `32 · Σ scale · bsum` is subtracted, and [`Fold`]'s tiled step
/// `fma(Σ · d, da, acc)` runs per lane. Lanes past the panel's tokens come out 0.
///
/// # Safety
/// The CPU must support AVX-512 F/BW/VL/VNNI, AVX2, FMA and F16C; every row holds
/// `panel.blocks()` blocks.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
#[inline]
pub unsafe fn panel_avx512<const R: usize>(
    rows: [&[Q6kDecoded]; R],
    panel: &super::Q8kPanel,
    out: &mut [[f32; super::PANEL]; R],
) {
    use std::arch::x86_64::*;
    assert!(panel.tiled, "the Q6_K panel kernel folds as a tiled batch");
    let mut acc = [_mm512_setzero_ps(); R];
    let blocks = panel.quads.iter().zip(&panel.sum_pairs).zip(&panel.scales);
    for (b, ((quads, pairs), scales)) in blocks.enumerate() {
        let mut total = [_mm512_setzero_si512(); R];
        for g in 0..16 {
            let mut sub = [_mm512_setzero_si512(); R];
            for (k, lanes) in quads.iter().enumerate().skip(4 * g).take(4) {
                let a = _mm512_loadu_si512(lanes.as_ptr() as *const __m512i);
                for r in 0..R {
                    let w = _mm512_set1_epi32(rows[r][b].quads[k] as i32);
                    sub[r] = _mm512_dpbusd_epi32(sub[r], w, a);
                }
            }
            for r in 0..R {
                let scaled = _mm512_mullo_epi32(sub[r], _mm512_set1_epi32(rows[r][b].scales[g]));
                total[r] = _mm512_add_epi32(total[r], scaled);
            }
        }
        let da = _mm512_loadu_ps(scales.as_ptr());
        for r in 0..R {
            let block = &rows[r][b];
            // 32 · Σ scale · bsum over the 16-groups: the quants' offset of 32.
            let mut offset = _mm512_setzero_si512();
            for (i, pair) in pairs.iter().enumerate() {
                let pair = _mm512_loadu_si512(pair.as_ptr() as *const __m512i);
                let part = _mm512_madd_epi16(pair, _mm512_set1_epi32(block.scale_pairs[i]));
                offset = _mm512_add_epi32(offset, part);
            }
            let sum = _mm512_sub_epi32(total[r], _mm512_slli_epi32(offset, 5));
            let scaled = _mm512_mul_ps(_mm512_cvtepi32_ps(sum), _mm512_set1_ps(block.d));
            acc[r] = _mm512_fmadd_ps(scaled, da, acc[r]);
        }
    }
    for (o, a) in out.iter_mut().zip(&acc) {
        _mm512_storeu_ps(o.as_mut_ptr(), *a);
    }
}
