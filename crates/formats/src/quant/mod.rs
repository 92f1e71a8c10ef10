//! Quantization codecs of the GGUF tensor types, scalar and bit-exact with llama.cpp's
//! reference quantizers (`quantize_row_*_ref` in ggml-quants.c) and dequantizers.
//!
//! Each block type has its own module with its byte layout documented as public offset
//! constants and two functions on raw fixed-size blocks, ready for SIMD kernels to build on:
//! `quantize_block(&[f32; BLOCK_ELEMS], &mut [u8; BLOCK_BYTES])` and
//! `dequantize_block(&[u8; BLOCK_BYTES], &mut [f32; BLOCK_ELEMS])`.
//! [`QuantType`] dispatches whole rows; [`tensor`] quantizes whole tensors in parallel.
//!
//! Non-finite input: the row codecs never panic and are deterministic for any input bits.
//! A block holding NaN or ±inf (or values whose squares overflow) quantizes to meaningless
//! values, but to the same bytes llama.cpp's reference writes on x86-64 (checked by the
//! vectors). [`tensor::quantize_tensor`] rejects such input with [`QuantError::NonFinite`].

pub mod float;
pub mod k_affine;
pub mod q4_0;
pub mod q4_k;
pub mod q5_0;
pub mod q5_k;
pub mod q6_k;
pub mod q8_0;
pub mod q8_k;
pub mod search;
pub mod tensor;

use std::fmt;
use std::str::FromStr;

use crate::gguf::GgmlType;

/// A tensor element type this module can quantize and dequantize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuantType {
    /// IEEE binary32, stored as is.
    F32,
    /// IEEE binary16.
    F16,
    /// bfloat16 (the top half of an f32).
    BF16,
    /// 32 weights per block, f16 scale, 4-bit levels.
    Q4_0,
    /// 32 weights per block, f16 scale, 5-bit levels.
    Q5_0,
    /// 32 weights per block, f16 scale, 8-bit levels.
    Q8_0,
    /// 256 weights per block, 4-bit levels with 6-bit sub-block scales and mins.
    Q4K,
    /// 256 weights per block, 5-bit levels with 6-bit sub-block scales and mins.
    Q5K,
    /// 256 weights per block, 6-bit levels with 8-bit sub-block scales.
    Q6K,
    /// 256 values per block, f32 scale, 8-bit levels and group sums (activations only).
    Q8K,
}

/// Why a row or tensor could not be (de)quantized.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuantError {
    /// The element count is not a whole number of blocks.
    #[error("{ty} needs a multiple of {block} elements, got {len}")]
    NotBlockMultiple {
        /// The type being (de)quantized.
        ty: QuantType,
        /// Elements per block of `ty`.
        block: usize,
        /// The element count given.
        len: usize,
    },
    /// The destination or source buffer has the wrong size for the element count.
    #[error("{ty}: {what} holds {actual} bytes, {expected} expected")]
    BufferSize {
        /// The type being (de)quantized.
        ty: QuantType,
        /// Which buffer is wrong ("quantized data", "output").
        what: &'static str,
        /// The size it should have.
        expected: usize,
        /// The size it has.
        actual: usize,
    },
    /// The byte size of `elems` elements does not fit in `usize`.
    #[error("{ty}: {elems} elements take more bytes than this machine can address")]
    TooLarge {
        /// The type being (de)quantized.
        ty: QuantType,
        /// The element count given.
        elems: usize,
    },
    /// A tensor holds NaN or ±inf, which no block format can represent.
    #[error("non-finite value {value} at row {row}, column {column}")]
    NonFinite {
        /// 0-based row of the value.
        row: usize,
        /// 0-based column of the value.
        column: usize,
        /// The offending value.
        value: f32,
    },
}

impl QuantType {
    /// Every supported type, in ggml type-id order.
    pub const ALL: [QuantType; 10] = [
        QuantType::F32,
        QuantType::F16,
        QuantType::Q4_0,
        QuantType::Q5_0,
        QuantType::Q8_0,
        QuantType::Q4K,
        QuantType::Q5K,
        QuantType::Q6K,
        QuantType::Q8K,
        QuantType::BF16,
    ];

    /// The ggml type this codec reads and writes; [`GgmlType`] owns its id, name and
    /// block layout.
    pub fn ggml_type(self) -> GgmlType {
        match self {
            QuantType::F32 => GgmlType::F32,
            QuantType::F16 => GgmlType::F16,
            QuantType::BF16 => GgmlType::BF16,
            QuantType::Q4_0 => GgmlType::Q4_0,
            QuantType::Q5_0 => GgmlType::Q5_0,
            QuantType::Q8_0 => GgmlType::Q8_0,
            QuantType::Q4K => GgmlType::Q4_K,
            QuantType::Q5K => GgmlType::Q5_K,
            QuantType::Q6K => GgmlType::Q6_K,
            QuantType::Q8K => GgmlType::Q8_K,
        }
    }

    /// The codec of ggml type `ty`, if supported.
    pub fn from_ggml(ty: GgmlType) -> Option<QuantType> {
        QuantType::ALL.into_iter().find(|t| t.ggml_type() == ty)
    }

    /// The type's name as ggml and gguf-py spell it (`"Q4_K"`).
    pub fn name(self) -> &'static str {
        self.ggml_type().name()
    }

    /// The `ggml_type` id used in GGUF tensor infos.
    pub fn ggml_type_id(self) -> u32 {
        self.ggml_type() as u32
    }

    /// The type with this `ggml_type` id, if supported.
    pub fn from_ggml_type_id(id: u32) -> Option<QuantType> {
        GgmlType::from_id(id).and_then(QuantType::from_ggml)
    }

    /// Elements per block (1 for the float types).
    pub fn block_elems(self) -> usize {
        self.ggml_type().block_elems()
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        self.ggml_type().block_bytes()
    }

    /// Bytes taken by `elems` elements, or an error if `elems` is not a whole number of
    /// blocks. Never overflows silently: sizes beyond `usize` are reported as an error.
    pub fn bytes_for(self, elems: usize) -> Result<usize, QuantError> {
        let block = self.block_elems();
        if !elems.is_multiple_of(block) {
            return Err(QuantError::NotBlockMultiple {
                ty: self,
                block,
                len: elems,
            });
        }
        (elems / block)
            .checked_mul(self.block_bytes())
            .ok_or(QuantError::TooLarge { ty: self, elems })
    }

    /// Quantizes `x` (a whole number of blocks) into `out`, which must hold exactly
    /// [`bytes_for(x.len())`](Self::bytes_for) bytes.
    pub fn quantize_row(self, x: &[f32], out: &mut [u8]) -> Result<(), QuantError> {
        self.check_sizes(x.len(), out.len(), "output")?;
        match self {
            QuantType::F32 => for_blocks(x, out, |v: &[f32; 1], b: &mut [u8; 4]| {
                *b = v[0].to_le_bytes();
            }),
            QuantType::F16 => for_blocks(x, out, |v: &[f32; 1], b: &mut [u8; 2]| {
                *b = float::f32_to_f16(v[0]).to_le_bytes();
            }),
            QuantType::BF16 => for_blocks(x, out, |v: &[f32; 1], b: &mut [u8; 2]| {
                *b = float::f32_to_bf16(v[0]).to_le_bytes();
            }),
            QuantType::Q4_0 => for_blocks(x, out, q4_0::quantize_block),
            QuantType::Q5_0 => for_blocks(x, out, q5_0::quantize_block),
            QuantType::Q8_0 => for_blocks(x, out, q8_0::quantize_block),
            QuantType::Q4K => for_blocks(x, out, q4_k::quantize_block),
            QuantType::Q5K => for_blocks(x, out, q5_k::quantize_block),
            QuantType::Q6K => for_blocks(x, out, q6_k::quantize_block),
            QuantType::Q8K => for_blocks(x, out, q8_k::quantize_block),
        }
        Ok(())
    }

    /// Dequantizes `data` into `out`; `data` must hold exactly
    /// [`bytes_for(out.len())`](Self::bytes_for) bytes.
    pub fn dequantize_row(self, data: &[u8], out: &mut [f32]) -> Result<(), QuantError> {
        self.check_sizes(out.len(), data.len(), "quantized data")?;
        match self {
            QuantType::F32 => for_blocks(data, out, |b: &[u8; 4], v: &mut [f32; 1]| {
                v[0] = f32::from_le_bytes(*b);
            }),
            QuantType::F16 => for_blocks(data, out, |b: &[u8; 2], v: &mut [f32; 1]| {
                v[0] = float::f16_to_f32(u16::from_le_bytes(*b));
            }),
            QuantType::BF16 => for_blocks(data, out, |b: &[u8; 2], v: &mut [f32; 1]| {
                v[0] = float::bf16_to_f32(u16::from_le_bytes(*b));
            }),
            QuantType::Q4_0 => for_blocks(data, out, q4_0::dequantize_block),
            QuantType::Q5_0 => for_blocks(data, out, q5_0::dequantize_block),
            QuantType::Q8_0 => for_blocks(data, out, q8_0::dequantize_block),
            QuantType::Q4K => for_blocks(data, out, q4_k::dequantize_block),
            QuantType::Q5K => for_blocks(data, out, q5_k::dequantize_block),
            QuantType::Q6K => for_blocks(data, out, q6_k::dequantize_block),
            QuantType::Q8K => for_blocks(data, out, q8_k::dequantize_block),
        }
        Ok(())
    }

    fn check_sizes(self, elems: usize, bytes: usize, what: &'static str) -> Result<(), QuantError> {
        let expected = self.bytes_for(elems)?;
        if bytes != expected {
            return Err(QuantError::BufferSize {
                ty: self,
                what,
                expected,
                actual: bytes,
            });
        }
        Ok(())
    }
}

/// Applies a block codec to each pair of matching fixed-size chunks of `src` and `dst`.
fn for_blocks<S: Copy, D, const N: usize, const M: usize>(
    src: &[S],
    dst: &mut [D],
    mut codec: impl FnMut(&[S; N], &mut [D; M]),
) {
    for (s, d) in src.chunks_exact(N).zip(dst.chunks_exact_mut(M)) {
        let s: &[S; N] = s.try_into().expect("chunks_exact yields N items");
        let d: &mut [D; M] = d.try_into().expect("chunks_exact_mut yields M items");
        codec(s, d);
    }
}

impl fmt::Display for QuantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for QuantType {
    type Err = String;

    /// Parses a type name, case-insensitively (`"q4_k"`, `"Q8_0"`, `"bf16"`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        QuantType::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<_> = QuantType::ALL.iter().map(|t| t.name()).collect();
                format!(
                    "unknown quantization type {s:?} (known: {})",
                    names.join(", ")
                )
            })
    }
}
