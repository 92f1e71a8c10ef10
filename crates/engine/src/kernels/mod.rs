//! Dot-product kernels between quantized weight rows and quantized activations.
//!
//! Every weight type pairs with the activation type llama.cpp uses for it
//! (`vec_dot_type`): Q4_K and Q6_K with Q8_K, Q8_0 and Q5_0 with Q8_0, F16 with F16 and F32
//! with F32. Each kernel has a portable scalar version and an AVX2/FMA version
//! picked at run time ([`Isa::detect`]); the two agree up to float summation order.
//! Q4_K, Q6_K and Q8_0 also have AVX-512 versions that give bit-identical results to
//! their AVX2 twins (same integer sums, same float operations in the same order), and
//! the K-quant ones multiply one weight row with up to [`TILE`] tokens at once so a
//! weight block is decoded once per tile during prefill. [`matmul`] runs a whole
//! weight matrix against a batch of activation rows on a rayon pool.

mod activations;
mod attention;
mod f16;
mod f32;
mod matmul;
mod panel;
mod q4_k;
mod q5_0;
mod q6_k;
mod q8_0;
mod q8k_panel;
mod q8k_tile;

pub use activations::ActivationRows;
pub use attention::{attention_scores, attention_values, f16_dot};
pub use matmul::{matmul, matmul_placed, Matrix};
pub use panel::{dot_panel_rows, has_panel_kernel};
pub use q8k_panel::{Q8kPanel, PANEL};
pub use q8k_tile::{Q8kTile, TILE};

use anyhow::{bail, Result};

use okla_formats::gguf::GgmlType;
use okla_formats::quant::{self as codec, QuantType};

/// The storage types a weight matrix may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WeightType {
    /// 32-bit floats.
    F32,
    /// IEEE half floats.
    F16,
    /// Blocks of 32: f16 scale + 32 int8.
    Q8_0,
    /// Blocks of 32: f16 scale + 32 five-bit values (llama.cpp's fallback for Q4_K).
    Q5_0,
    /// Super-blocks of 256: f16 d, dmin, 6-bit scales/mins, 4-bit quants.
    Q4K,
    /// Super-blocks of 256: 4+2-bit quants, int8 scales, f16 d.
    Q6K,
}

/// The storage types activations are converted to before a dot product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActivationType {
    /// 32-bit floats (for F32 weights).
    F32,
    /// Half floats (for F16 weights).
    F16,
    /// Q8_0 blocks (for Q8_0 weights).
    Q8_0,
    /// Q8_K blocks: f32 d, 256 int8, 16 int16 partial sums (for K-quants).
    Q8K,
}

// The block layouts are the codecs' (`okla_formats::quant`), named here for the kernels.
/// Bytes of one Q4_K super-block.
pub const Q4K_BLOCK_BYTES: usize = codec::q4_k::BLOCK_BYTES;
/// Bytes of one Q6_K super-block.
pub const Q6K_BLOCK_BYTES: usize = codec::q6_k::BLOCK_BYTES;
/// Bytes of one Q5_0 block.
pub const Q5_0_BLOCK_BYTES: usize = codec::q5_0::BLOCK_BYTES;
/// Bytes of one Q8_0 block.
pub const Q8_0_BLOCK_BYTES: usize = codec::q8_0::BLOCK_BYTES;
/// Bytes of one Q8_K block.
pub const Q8K_BLOCK_BYTES: usize = codec::q8_k::BLOCK_BYTES;
/// Elements per K-quant super-block.
pub const QK_K: usize = codec::k_affine::QK_K;
/// Elements per Q8_0 block.
pub const QK8_0: usize = codec::q8_0::BLOCK_ELEMS;

impl WeightType {
    /// Every weight type.
    const ALL: [WeightType; 6] = [
        WeightType::F32,
        WeightType::F16,
        WeightType::Q8_0,
        WeightType::Q5_0,
        WeightType::Q4K,
        WeightType::Q6K,
    ];

    /// The GGUF tensor type of this kernel type; [`GgmlType`] owns its block layout.
    pub fn ggml_type(self) -> GgmlType {
        match self {
            WeightType::F32 => GgmlType::F32,
            WeightType::F16 => GgmlType::F16,
            WeightType::Q8_0 => GgmlType::Q8_0,
            WeightType::Q5_0 => GgmlType::Q5_0,
            WeightType::Q4K => GgmlType::Q4_K,
            WeightType::Q6K => GgmlType::Q6_K,
        }
    }

    /// Elements per block and bytes per block.
    pub fn block(self) -> (usize, usize) {
        let ty = self.ggml_type();
        (ty.block_elems(), ty.block_bytes())
    }

    /// Bytes of one row of `cols` elements; fails when `cols` is not a whole number of blocks.
    pub fn row_bytes(self, cols: usize) -> Result<usize> {
        let (elems, bytes) = self.block();
        if !cols.is_multiple_of(elems) {
            bail!("{self:?} rows need a multiple of {elems} columns, got {cols}");
        }
        Ok(cols / elems * bytes)
    }

    /// The activation type this weight type is multiplied with.
    pub fn activation(self) -> ActivationType {
        match self {
            WeightType::F32 => ActivationType::F32,
            WeightType::F16 => ActivationType::F16,
            WeightType::Q8_0 | WeightType::Q5_0 => ActivationType::Q8_0,
            WeightType::Q4K | WeightType::Q6K => ActivationType::Q8K,
        }
    }

    /// The kernel type of a GGUF tensor type, when the kernels support it.
    pub fn from_ggml(ty: GgmlType) -> Option<WeightType> {
        WeightType::ALL.into_iter().find(|w| w.ggml_type() == ty)
    }

    /// The codec of this type in [`okla_formats::quant`].
    pub fn quant_type(self) -> QuantType {
        QuantType::from_ggml(self.ggml_type()).expect("every kernel type has a codec")
    }
}

impl ActivationType {
    /// The GGUF tensor type of these activations; [`GgmlType`] owns its block layout.
    pub fn ggml_type(self) -> GgmlType {
        match self {
            ActivationType::F32 => GgmlType::F32,
            ActivationType::F16 => GgmlType::F16,
            ActivationType::Q8_0 => GgmlType::Q8_0,
            ActivationType::Q8K => GgmlType::Q8_K,
        }
    }

    /// Bytes of one row of `cols` activations (`cols` must be a multiple of the block size).
    pub fn row_bytes(self, cols: usize) -> usize {
        let ty = self.ggml_type();
        cols / ty.block_elems() * ty.block_bytes()
    }
}

/// Which instruction set the kernels use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// Portable Rust.
    Scalar,
    /// AVX2 + FMA + F16C (x86-64, detected at run time).
    Avx2,
    /// [`Isa::Avx2`] plus AVX-512 F/BW/VL/VNNI: AVX-512 kernels for Q4_K, Q6_K and
    /// Q8_0 (bit-identical to the AVX2 ones), AVX2 kernels for the other types.
    Avx512,
}

impl Isa {
    /// The best instruction set this CPU supports.
    pub fn detect() -> Isa {
        [Isa::Avx512, Isa::Avx2]
            .into_iter()
            .find(|isa| isa.is_supported())
            .unwrap_or(Isa::Scalar)
    }

    /// Whether this CPU can run the kernels of `self`.
    pub fn is_supported(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c");
            match self {
                Isa::Scalar => true,
                Isa::Avx2 => avx2,
                Isa::Avx512 => {
                    avx2 && is_x86_feature_detected!("avx512f")
                        && is_x86_feature_detected!("avx512bw")
                        && is_x86_feature_detected!("avx512vl")
                        && is_x86_feature_detected!("avx512vnni")
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Isa::Scalar
        }
    }
}

/// Dot product of one weight row with one activation row (both as raw bytes of the
/// matching types, same number of elements), using `isa`.
///
/// `isa` must be one the CPU supports (from [`Isa::detect`] or [`Isa::Scalar`]).
pub fn vec_dot(isa: Isa, ty: WeightType, weights: &[u8], acts: &[u8]) -> f32 {
    vec_dot_in(isa, ty, weights, acts, Batching::default())
}

/// Where a row sits in the batch of a matmul. llama.cpp's x86 build picks its kernel
/// by that, and the kernels round their exact integer sums into floats differently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Batching {
    /// One of the first `n − n % 4` rows of the batch: repacked Q4_K weights fold its
    /// sums every 64 weights (GEMM) instead of once per super-block (GEMV).
    pub group_of_four: bool,
    /// The batch has 8 or more rows: Q6_K weights go through ggml's tiled K-quant
    /// matmul, which folds once per super-block as `fma(Σ · d, da, acc)`.
    pub tiled: bool,
}

impl Batching {
    /// Row `t` of a batch of `rows` rows.
    pub fn of(t: usize, rows: usize) -> Self {
        Self {
            group_of_four: t < rows - rows % 4,
            tiled: rows >= 8,
        }
    }
}

/// [`vec_dot`] for a row placed in its batch as `batching` says (Q4_K and Q6_K care).
pub fn vec_dot_in(
    isa: Isa,
    ty: WeightType,
    weights: &[u8],
    acts: &[u8],
    batching: Batching,
) -> f32 {
    match isa {
        Isa::Scalar => match ty {
            WeightType::F32 => f32::dot_scalar(weights, acts),
            WeightType::F16 => f16::dot_scalar(weights, acts),
            WeightType::Q8_0 => q8_0::dot_scalar(weights, acts),
            WeightType::Q5_0 => q5_0::dot_scalar(weights, acts),
            WeightType::Q4K => q4_k::dot_scalar(weights, acts, batching.group_of_four),
            WeightType::Q6K => q6_k::dot_scalar(weights, acts, batching.tiled),
        },
        Isa::Avx2 => avx2_dot(ty, weights, acts, batching),
        Isa::Avx512 => match ty {
            WeightType::Q4K | WeightType::Q6K => {
                let mut out = [0.0f32];
                let tile = Q8kTile::new(&[acts], &[batching]);
                dot_tile_rows(isa, ty, weights, &tile, &mut out, 1);
                out[0]
            }
            WeightType::Q8_0 => avx512_q8_0_dot(weights, acts),
            _ => avx2_dot(ty, weights, acts, batching),
        },
    }
}

/// Whether [`dot_tile_rows`] has a kernel for `ty` under `isa` (else multiply token by token).
pub fn has_tile_kernel(isa: Isa, ty: WeightType) -> bool {
    matches!(isa, Isa::Avx2 | Isa::Avx512) && matches!(ty, WeightType::Q4K | WeightType::Q6K)
}

/// For each whole weight row `i` in `rows` (consecutive rows of `ty`) and token `t` of
/// the Q8_K `tile`: `out[i * stride + t] = row i · token t`, each bit-identical to
/// [`vec_dot`] of that row and token. Needs [`has_tile_kernel`]`(isa, ty)`.
pub fn dot_tile_rows(
    isa: Isa,
    ty: WeightType,
    rows: &[u8],
    tile: &Q8kTile<'_>,
    out: &mut [f32],
    stride: usize,
) {
    assert!(
        has_tile_kernel(isa, ty),
        "no {isa:?} tile kernel for {ty:?}"
    );
    assert!(
        isa.is_supported(),
        "{isa:?} kernels requested on a CPU that lacks them"
    );
    let row_bytes = tile.row(0).len() / Q8K_BLOCK_BYTES * ty.block().1;
    assert!(
        row_bytes > 0 && rows.len().is_multiple_of(row_bytes),
        "weight rows do not match the tile width"
    );
    let n_rows = rows.len() / row_bytes;
    assert!(
        n_rows == 0 || out.len() >= (n_rows - 1) * stride + tile.len(),
        "tile output too small"
    );
    #[cfg(target_arch = "x86_64")]
    {
        let args = (ty, rows, row_bytes, tile, out, stride);
        // SAFETY: the CPU supports `isa` (checked above), which is AVX2 (with FMA and F16C)
        // or AVX-512 F/BW/VL/VNNI on top of it, and `out` holds every row's outputs
        // (checked above).
        unsafe {
            match tile.len() {
                1 => tile_rows::<1>(isa, args),
                2 => tile_rows::<2>(isa, args),
                3 => tile_rows::<3>(isa, args),
                4 => tile_rows::<4>(isa, args),
                5 => tile_rows::<5>(isa, args),
                6 => tile_rows::<6>(isa, args),
                7 => tile_rows::<7>(isa, args),
                _ => tile_rows::<8>(isa, args),
            }
        }
    }
}

/// The arguments of a tile row loop: weight type, rows, bytes per row, tile, output
/// and its row stride.
#[cfg(target_arch = "x86_64")]
type TileRowsArgs<'a, 'b> = (
    WeightType,
    &'a [u8],
    usize,
    &'a Q8kTile<'b>,
    &'a mut [f32],
    usize,
);

/// [`dot_tile_rows`] for a tile of `N` tokens under `isa`.
///
/// # Safety
/// The CPU supports `isa`, which has tile kernels; `out` holds every row's outputs.
#[cfg(target_arch = "x86_64")]
unsafe fn tile_rows<const N: usize>(isa: Isa, args: TileRowsArgs<'_, '_>) {
    match isa {
        Isa::Avx512 => tile_rows_avx512::<N>(args),
        _ => tile_rows_avx2::<N>(args),
    }
}

/// The row loop of [`dot_tile_rows`] under AVX2, compiled per tile size so each kernel
/// inlines.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn tile_rows_avx2<const N: usize>(
    (ty, rows, row_bytes, tile, out, stride): TileRowsArgs<'_, '_>,
) {
    for (i, row) in rows.chunks_exact(row_bytes).enumerate() {
        let o = &mut out[i * stride..i * stride + N];
        match ty {
            WeightType::Q4K => q4_k::tile_avx2::<N>(row, tile, o),
            _ => q6_k::tile_avx2::<N>(row, tile, o),
        }
    }
}

/// How many weight rows ahead a single token's row loop prefetches.
const PREFETCH_ROWS: usize = 4;

/// The row loop of [`dot_tile_rows`], compiled per tile size so each kernel inlines.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn tile_rows_avx512<const N: usize>(
    (ty, rows, row_bytes, tile, out, stride): TileRowsArgs<'_, '_>,
) {
    for (i, row) in rows.chunks_exact(row_bytes).enumerate() {
        // A single token is bound by reading the weights: ask for a later row's lines
        // now, so the memory system works while this row is computed.
        if N == 1 {
            let ahead = ((i + PREFETCH_ROWS) * row_bytes).min(rows.len());
            prefetch_lines(&rows[ahead..(ahead + row_bytes).min(rows.len())]);
        }
        let o = &mut out[i * stride..i * stride + N];
        match ty {
            WeightType::Q4K => q4_k::tile_avx512::<N>(row, tile, o),
            _ => q6_k::tile_avx512::<N>(row, tile, o),
        }
    }
}

/// Asks the memory system for every cache line of `bytes` (into all cache levels)
/// without waiting for them.
#[cfg(target_arch = "x86_64")]
#[inline]
fn prefetch_lines(bytes: &[u8]) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    for line in bytes.chunks(64) {
        // SAFETY: prefetching is a hint with no architectural effect; the address is
        // inside `bytes`.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr() as *const i8) };
    }
}

/// `out[t] = row · acts[t]` for each token of a batch (`placed[t]` says where token `t`
/// sits in it), each bit-identical to [`vec_dot_in`]. Q5_0 under AVX2 or AVX-512
/// decodes each weight block once for up to 8 tokens (`q5_0::dot_rows_avx2`).
pub fn dot_row_tokens(
    isa: Isa,
    ty: WeightType,
    row: &[u8],
    acts: &[&[u8]],
    placed: &[Batching],
    out: &mut [f32],
) {
    if ty == WeightType::Q5_0 && isa != Isa::Scalar {
        for (acts, out) in acts.chunks(8).zip(out.chunks_mut(8)) {
            q5_0_rows(row, acts, out);
        }
        return;
    }
    for ((y, act), placed) in out.iter_mut().zip(acts).zip(placed) {
        *y = vec_dot_in(isa, ty, row, act, *placed);
    }
}

/// [`q5_0::dot_rows_avx2`] for 1 to 8 tokens.
#[cfg(target_arch = "x86_64")]
fn q5_0_rows(row: &[u8], acts: &[&[u8]], out: &mut [f32]) {
    assert!(
        Isa::Avx2.is_supported(),
        "AVX2 kernels requested on a CPU without AVX2/FMA/F16C"
    );
    fn run<const N: usize>(row: &[u8], acts: &[&[u8]], out: &mut [f32]) {
        let acts: &[&[u8]; N] = acts.try_into().expect("N activation rows");
        // SAFETY: the CPU supports AVX2, FMA and F16C (checked by the caller).
        out.copy_from_slice(&unsafe { q5_0::dot_rows_avx2::<N>(row, acts) });
    }
    match acts.len() {
        1 => run::<1>(row, acts, out),
        2 => run::<2>(row, acts, out),
        3 => run::<3>(row, acts, out),
        4 => run::<4>(row, acts, out),
        5 => run::<5>(row, acts, out),
        6 => run::<6>(row, acts, out),
        7 => run::<7>(row, acts, out),
        _ => run::<8>(row, acts, out),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn q5_0_rows(_: &[u8], _: &[&[u8]], _: &mut [f32]) {
    panic!("AVX2 kernels requested on a non-x86-64 CPU")
}

#[cfg(target_arch = "x86_64")]
fn avx512_q8_0_dot(weights: &[u8], acts: &[u8]) -> f32 {
    assert!(
        Isa::Avx512.is_supported(),
        "AVX-512 kernels requested on a CPU without AVX-512 F/BW/VL/VNNI"
    );
    // SAFETY: the CPU supports AVX-512 F/BW/VL/VNNI and F16C (checked above).
    unsafe { q8_0::dot_avx512(weights, acts) }
}

#[cfg(not(target_arch = "x86_64"))]
fn avx512_q8_0_dot(_: &[u8], _: &[u8]) -> f32 {
    panic!("AVX-512 kernels requested on a non-x86-64 CPU")
}

#[cfg(target_arch = "x86_64")]
fn avx2_dot(ty: WeightType, weights: &[u8], acts: &[u8], batching: Batching) -> f32 {
    assert!(
        Isa::Avx2.is_supported(),
        "AVX2 kernels requested on a CPU without AVX2/FMA/F16C"
    );
    // SAFETY: the CPU supports AVX2, FMA and F16C (checked above).
    unsafe {
        match ty {
            WeightType::F32 => f32::dot_avx2(weights, acts),
            WeightType::F16 => f16::dot_avx2(weights, acts),
            WeightType::Q8_0 => q8_0::dot_avx2(weights, acts),
            WeightType::Q5_0 => q5_0::dot_avx2(weights, acts),
            WeightType::Q4K => q4_k::dot_avx2(weights, acts, batching.group_of_four),
            WeightType::Q6K => q6_k::dot_avx2(weights, acts, batching.tiled),
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn avx2_dot(_: WeightType, _: &[u8], _: &[u8], _: Batching) -> f32 {
    panic!("AVX2 kernels requested on a non-x86-64 CPU")
}

/// Reads a little-endian f16 at `bytes[0..2]` as f32.
#[inline(always)]
fn f16_at(bytes: &[u8]) -> f32 {
    half::f16::from_le_bytes([bytes[0], bytes[1]]).to_f32()
}

/// Reads a little-endian f32 at `bytes[0..4]`.
#[inline(always)]
fn f32_at(bytes: &[u8]) -> f32 {
    f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// The 32 products of two signed int8 vectors summed in fours into 8 i32 lanes
/// (exact): `maddubs` wants an unsigned left side, so |x| meets y carrying x's sign.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn dot_i8_lanes(
    x: std::arch::x86_64::__m256i,
    y: std::arch::x86_64::__m256i,
) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    let pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
    _mm256_madd_epi16(pairs, _mm256_set1_epi16(1))
}

/// Horizontal sum of 8 i32 lanes (exact).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn hsum_epi32(v: std::arch::x86_64::__m256i) -> i32 {
    use std::arch::x86_64::*;
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    let s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    _mm_cvtsi128_si32(s)
}

/// Horizontal sum of 8 f32 lanes in ggml's order (`hsum_float_8`):
/// `((v0+v4) + (v2+v6)) + ((v1+v5) + (v3+v7))`.
fn hsum8(v: &[f32; 8]) -> f32 {
    ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]))
}

/// Horizontal sum of 8 f32 lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn hsum_ps(v: std::arch::x86_64::__m256) -> f32 {
    use std::arch::x86_64::*;
    let lo = _mm256_castps256_ps128(v);
    let hi = _mm256_extractf128_ps(v, 1);
    let s = _mm_add_ps(lo, hi);
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

#[cfg(test)]
mod tests;
