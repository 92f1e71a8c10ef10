//! The two f16 products of attention (queries · cached keys, probabilities · cached
//! values), in the lane order of the kernels llama.cpp's x86 AVX-512 build uses
//! ([`f16_dot`]), with AVX-512 and AVX2 versions that give the same bits: every lane
//! accumulator receives the same FMAs in the same order (an AVX2 pair of vectors holds
//! the 16 lanes), and the lanes are reduced by the same additions.

use super::{f16_at, Isa};
use crate::ops::reduce16;

/// `Σ a_i·b_i` over `n` products of f16 values (`term(i)` gives them as f32) in the
/// order of the kernel llama.cpp's x86 AVX-512 build uses: for a batch of two or more
/// tokens tinyBLAS (16 FMA lanes, lane `i mod 16`, then `_mm512_reduce_add_ps`), for a
/// single token `ggml_vec_dot_f16` (4×16 lanes by `i mod 64`, folded pairwise, then
/// reduced; the K/V axis is padded to 256 positions so every term lands in a lane).
pub fn f16_dot(n: usize, term: impl Fn(usize) -> (f32, f32), batched: bool) -> f32 {
    let mut acc = [[0.0f32; 16]; 4];
    for i in 0..n {
        let (a, b) = term(i);
        let lane = &mut acc[if batched { 0 } else { (i / 16) % 4 }][i % 16];
        *lane = a.mul_add(b, *lane);
    }
    reduce_lanes(&acc, batched)
}

/// The final reduction of [`f16_dot`]'s lane accumulators.
fn reduce_lanes(acc: &[[f32; 16]; 4], batched: bool) -> f32 {
    if batched {
        return reduce16(&acc[0]);
    }
    let folded: [f32; 16] =
        std::array::from_fn(|l| (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l]));
    reduce16(&folded)
}

/// Attention scores before scaling: `out[j] = f16_dot(key j · q)` where key `j` is the
/// `q.len()` f16 values at `keys[j * stride..]` and `q` holds f16-rounded queries.
pub fn attention_scores(
    isa: Isa,
    keys: &[u8],
    stride: usize,
    q: &[f32],
    batched: bool,
    out: &mut [f32],
) {
    let hd = q.len();
    if let Some(last) = out.len().checked_sub(1) {
        assert!(keys.len() >= last * stride + 2 * hd, "keys too short");
    }
    assert!(isa.is_supported(), "{isa:?} requested on a CPU without it");
    match isa {
        // SAFETY: the CPU supports the ISA (asserted above); every key row lies inside
        // `keys` (checked above).
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { scores_avx512(keys, stride, q, batched, out) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { scores_avx2(keys, stride, q, batched, out) },
        _ => scores_scalar(keys, stride, q, batched, out),
    }
}

/// The scalar twin of the attention-score kernels.
fn scores_scalar(keys: &[u8], stride: usize, q: &[f32], batched: bool, out: &mut [f32]) {
    let hd = q.len();
    for (j, o) in out.iter_mut().enumerate() {
        let k = &keys[j * stride..];
        *o = f16_dot(hd, |i| (f16_at(&k[2 * i..]), q[i]), batched);
    }
}

/// Attention output of one head: `out[d] = f16_dot(Σ_j p[j] · value j[d])` where value
/// `j` is the `out.len()` f16 values at `values[j * stride..]`.
pub fn attention_values(
    isa: Isa,
    p: &[f32],
    values: &[u8],
    stride: usize,
    batched: bool,
    out: &mut [f32],
) {
    let hd = out.len();
    if let Some(last) = p.len().checked_sub(1) {
        assert!(values.len() >= last * stride + 2 * hd, "values too short");
    }
    assert!(isa.is_supported(), "{isa:?} requested on a CPU without it");
    match isa {
        // SAFETY: the CPU supports the ISA (asserted above); every value row lies
        // inside `values` (checked above).
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { values_avx512(p, values, stride, batched, out) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { values_avx2(p, values, stride, batched, out) },
        _ => values_scalar(p, values, stride, batched, out),
    }
}

/// The scalar twin of the attention-value kernels.
fn values_scalar(p: &[f32], values: &[u8], stride: usize, batched: bool, out: &mut [f32]) {
    for (d, o) in out.iter_mut().enumerate() {
        *o = f16_dot(
            p.len(),
            |j| (p[j], f16_at(&values[j * stride + 2 * d..])),
            batched,
        );
    }
}

/// Lane accumulator (of 64) that term `i` of [`f16_dot`] goes to.
#[inline(always)]
fn lane_of(i: usize, batched: bool) -> usize {
    if batched {
        i % 16
    } else {
        i % 64
    }
}

/// Mask of the first `n` (≤ 16) lanes.
#[inline(always)]
fn first_lanes(n: usize) -> u16 {
    if n >= 16 {
        u16::MAX
    } else {
        (1u16 << n) - 1
    }
}

/// AVX-512 [`attention_scores`]: 16 key elements per FMA, lanes as in [`f16_dot`];
/// sixteen keys' lane accumulators are reduced together ([`reduce16_each`]).
///
/// # Safety
/// The CPU must support AVX-512 F and F16C; `keys` holds every key row.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,f16c,fma")]
unsafe fn scores_avx512(keys: &[u8], stride: usize, q: &[f32], batched: bool, out: &mut [f32]) {
    use std::arch::x86_64::*;
    let hd = q.len();
    for (c, scores) in out.chunks_mut(16).enumerate() {
        let mut per_key = [_mm512_setzero_ps(); 16];
        for (kk, lanes) in per_key.iter_mut().enumerate().take(scores.len()) {
            let k = keys.as_ptr().add((16 * c + kk) * stride) as *const i16;
            let mut acc = [_mm512_setzero_ps(); 4];
            for i in (0..hd).step_by(16) {
                let mask = first_lanes(hd - i);
                let kv = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask as __mmask16, k.add(i)));
                let qv = _mm512_maskz_loadu_ps(mask, q.as_ptr().add(i));
                let a = &mut acc[lane_of(i, batched) / 16];
                *a = _mm512_mask3_fmadd_ps(kv, qv, *a, mask);
            }
            // `reduce_lanes` before its final `reduce16`.
            *lanes = if batched {
                acc[0]
            } else {
                _mm512_add_ps(_mm512_add_ps(acc[0], acc[2]), _mm512_add_ps(acc[1], acc[3]))
            };
        }
        let mask = first_lanes(scores.len());
        _mm512_mask_storeu_ps(scores.as_mut_ptr(), mask, reduce16_each(&per_key));
    }
}

/// Lane `k` of the result is [`reduce16`] of `v[k]`, bit for bit: the same additions
/// of the same pairs, sixteen vectors at a time (halves, quarters, pairs, then the
/// final pair, with the keys' results shuffled into lane order at the end).
///
/// # Safety
/// The CPU must support AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn reduce16_each(v: &[std::arch::x86_64::__m512; 16]) -> std::arch::x86_64::__m512 {
    use std::arch::x86_64::*;
    // Lanes i and i + 8: vector j holds key j in its low half, key j + 8 in its high half.
    let halves: [__m512; 8] = std::array::from_fn(|j| {
        _mm512_add_ps(
            _mm512_shuffle_f32x4(v[j], v[j + 8], 0x44),
            _mm512_shuffle_f32x4(v[j], v[j + 8], 0xEE),
        )
    });
    // Lanes i and i + 4: 128-bit quarters hold keys j, j + 8, j + 4, j + 12.
    let quarters: [__m512; 4] = std::array::from_fn(|j| {
        _mm512_add_ps(
            _mm512_shuffle_f32x4(halves[j], halves[j + 4], 0x88),
            _mm512_shuffle_f32x4(halves[j], halves[j + 4], 0xDD),
        )
    });
    // Lanes 0 + 2 and 1 + 3 of each quarter's key.
    let pairs: [__m512; 2] = std::array::from_fn(|j| {
        _mm512_add_ps(
            _mm512_shuffle_ps(quarters[j], quarters[j + 2], 0x44),
            _mm512_shuffle_ps(quarters[j], quarters[j + 2], 0xEE),
        )
    });
    let sums = _mm512_add_ps(
        _mm512_shuffle_ps(pairs[0], pairs[1], 0x88),
        _mm512_shuffle_ps(pairs[0], pairs[1], 0xDD),
    );
    // `sums` holds keys 0 2 1 3 | 8 10 9 11 | 4 6 5 7 | 12 14 13 15.
    let order = _mm512_setr_epi32(0, 2, 1, 3, 8, 10, 9, 11, 4, 6, 5, 7, 12, 14, 13, 15);
    _mm512_permutexvar_ps(order, sums)
}

/// [`attention_values`] for one block of output dimensions, as vectors `V` of them
/// (shared by the AVX2 and AVX-512 kernels): value row `j`'s `term` goes to lane
/// `j mod 16` of group `(j / 16) mod 4` (one group when batched), the groups fold
/// pairwise and the 16 lanes reduce as [`reduce_lanes`] does, so each dimension sees
/// the scalar order.
#[inline(always)]
fn value_block<V: Copy>(
    n: usize,
    batched: bool,
    zero: V,
    term: impl Fn(usize, V) -> V,
    add: impl Fn(V, V) -> V,
) -> V {
    let groups = if batched { 1 } else { 4 };
    let period = 16 * groups;
    let mut by_group = [[zero; 16]; 4];
    for (g, acc) in by_group.iter_mut().enumerate().take(groups) {
        let mut j0 = 16 * g;
        while j0 + 16 <= n {
            for (l, a) in acc.iter_mut().enumerate() {
                *a = term(j0 + l, *a);
            }
            j0 += period;
        }
        for (l, a) in acc.iter_mut().enumerate().take(n.saturating_sub(j0)) {
            *a = term(j0 + l, *a);
        }
    }
    let lanes: [V; 16] = if batched {
        by_group[0]
    } else {
        let g = &by_group;
        std::array::from_fn(|l| add(add(g[0][l], g[2][l]), add(g[1][l], g[3][l])))
    };
    // `reduce16` over the lanes, for every dimension of the vector at once.
    let t8: [V; 8] = std::array::from_fn(|i| add(lanes[i + 8], lanes[i]));
    let t4: [V; 4] = std::array::from_fn(|i| add(t8[i + 4], t8[i]));
    add(add(t4[0], t4[2]), add(t4[1], t4[3]))
}

/// AVX-512 [`attention_values`]: 16 output dimensions per FMA, one register
/// accumulator per [`f16_dot`] lane (16 at a time), so each dimension sees the scalar
/// order; the lanes are then reduced as [`reduce_lanes`] does, 16 dimensions at once.
///
/// # Safety
/// The CPU must support AVX-512 F and F16C; `values` holds every value row.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,f16c,fma")]
unsafe fn values_avx512(p: &[f32], values: &[u8], stride: usize, batched: bool, out: &mut [f32]) {
    use std::arch::x86_64::*;
    let (hd, n) = (out.len(), p.len());
    for d0 in (0..hd).step_by(16) {
        let mask = first_lanes(hd - d0) as __mmask16;
        let term = |j: usize, acc: __m512| {
            let v = values.as_ptr().add(j * stride + 2 * d0) as *const i16;
            let vv = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, v));
            _mm512_mask3_fmadd_ps(_mm512_set1_ps(p[j]), vv, acc, mask)
        };
        let sum = value_block(n, batched, _mm512_setzero_ps(), term, |a, b| {
            _mm512_add_ps(a, b)
        });
        _mm512_mask_storeu_ps(out.as_mut_ptr().add(d0), mask, sum);
    }
}

/// Eight f16 values at `src` as f32, or the first `n` of them (the rest 0) when `n < 8`.
///
/// # Safety
/// The CPU must support AVX and F16C; `src` holds `min(n, 8)` values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,f16c")]
#[inline]
unsafe fn load_f16x8(src: *const u16, n: usize) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    if n >= 8 {
        return _mm256_cvtph_ps(_mm_loadu_si128(src as *const __m128i));
    }
    let mut part = [0u16; 8];
    std::ptr::copy_nonoverlapping(src, part.as_mut_ptr(), n);
    _mm256_cvtph_ps(_mm_loadu_si128(part.as_ptr() as *const __m128i))
}

/// Eight f32 values at `src`, or the first `n` of them (the rest 0) when `n < 8`.
///
/// # Safety
/// The CPU must support AVX; `src` holds `min(n, 8)` values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn load_f32x8(src: *const f32, n: usize) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    if n >= 8 {
        return _mm256_loadu_ps(src);
    }
    let mut part = [0f32; 8];
    std::ptr::copy_nonoverlapping(src, part.as_mut_ptr(), n);
    _mm256_loadu_ps(part.as_ptr())
}

/// `fma(a, b, acc)` in the first `n` lanes (all 8 when `n ≥ 8`); the others keep `acc`.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn fmadd_first(
    a: std::arch::x86_64::__m256,
    b: std::arch::x86_64::__m256,
    acc: std::arch::x86_64::__m256,
    n: usize,
) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    let sum = _mm256_fmadd_ps(a, b, acc);
    if n >= 8 {
        return sum;
    }
    let lanes: [i32; 8] = std::array::from_fn(|l| -((l < n) as i32));
    let mask = _mm256_castsi256_ps(_mm256_loadu_si256(lanes.as_ptr() as *const __m256i));
    _mm256_blendv_ps(acc, sum, mask)
}

/// [`reduce16`] of 16 lanes held as lanes 0-7 (`lo`) and 8-15 (`hi`), bit for bit.
///
/// # Safety
/// The CPU must support AVX.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn reduce16_pair(lo: std::arch::x86_64::__m256, hi: std::arch::x86_64::__m256) -> f32 {
    use std::arch::x86_64::*;
    let t8 = _mm256_add_ps(hi, lo);
    let t4 = _mm_add_ps(_mm256_extractf128_ps(t8, 1), _mm256_castps256_ps128(t8));
    let t2 = _mm_add_ps(t4, _mm_movehl_ps(t4, t4));
    _mm_cvtss_f32(_mm_add_ss(t2, _mm_shuffle_ps(t2, t2, 1)))
}

/// The 16 lanes (as two halves) [`reduce_lanes`] reduces: the batched accumulator, or
/// the four accumulators folded pairwise.
///
/// # Safety
/// The CPU must support AVX.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn folded_lanes(
    acc: &[[std::arch::x86_64::__m256; 2]; 4],
    batched: bool,
) -> [std::arch::x86_64::__m256; 2] {
    use std::arch::x86_64::*;
    if batched {
        return acc[0];
    }
    std::array::from_fn(|h| {
        _mm256_add_ps(
            _mm256_add_ps(acc[0][h], acc[2][h]),
            _mm256_add_ps(acc[1][h], acc[3][h]),
        )
    })
}

/// AVX2 [`attention_scores`]: 16 key elements per step as two vectors of 8 lanes,
/// lanes as in [`f16_dot`], each key's lanes reduced as [`reduce16`] does.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C; `keys` holds every key row.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn scores_avx2(keys: &[u8], stride: usize, q: &[f32], batched: bool, out: &mut [f32]) {
    use std::arch::x86_64::*;
    let hd = q.len();
    for (j, score) in out.iter_mut().enumerate() {
        let k = keys.as_ptr().add(j * stride) as *const u16;
        let mut acc = [[_mm256_setzero_ps(); 2]; 4];
        for i in (0..hd).step_by(16) {
            let a = &mut acc[lane_of(i, batched) / 16];
            for (h, lanes) in a.iter_mut().enumerate() {
                let (first, n) = (i + 8 * h, (hd - i).saturating_sub(8 * h));
                if n == 0 {
                    break;
                }
                let kv = load_f16x8(k.add(first), n);
                let qv = load_f32x8(q.as_ptr().add(first), n);
                *lanes = fmadd_first(kv, qv, *lanes, n);
            }
        }
        let [lo, hi] = folded_lanes(&acc, batched);
        *score = reduce16_pair(lo, hi);
    }
}

/// AVX2 [`attention_values`]: 8 output dimensions per FMA, one accumulator per
/// [`f16_dot`] lane, so each dimension sees the scalar order; the lanes are then
/// reduced as [`reduce_lanes`] does, 8 dimensions at once.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C; `values` holds every value row.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn values_avx2(p: &[f32], values: &[u8], stride: usize, batched: bool, out: &mut [f32]) {
    use std::arch::x86_64::*;
    let (hd, n) = (out.len(), p.len());
    for d0 in (0..hd).step_by(8) {
        let dims = hd - d0;
        let term = |j: usize, acc: __m256| {
            let v = values.as_ptr().add(j * stride + 2 * d0) as *const u16;
            fmadd_first(_mm256_set1_ps(p[j]), load_f16x8(v, dims), acc, dims)
        };
        let sum = value_block(n, batched, _mm256_setzero_ps(), term, |a, b| {
            _mm256_add_ps(a, b)
        });
        let mut lanes_out = [0f32; 8];
        _mm256_storeu_ps(lanes_out.as_mut_ptr(), sum);
        let take = dims.min(8);
        out[d0..d0 + take].copy_from_slice(&lanes_out[..take]);
    }
}
