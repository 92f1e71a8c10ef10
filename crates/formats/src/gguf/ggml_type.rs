//! The ggml tensor types: on-disk id, name, block size and bytes per block.
//!
//! Every type ggml defines is listed, so a file holding any of them parses, even
//! when no codec for it exists (see `crate::quant` for the ones we can convert).
//!
//! This is the one table of those facts: [`crate::quant::QuantType`] and the engine's
//! kernel types map to a [`GgmlType`] and ask it. Types with a codec read their layout
//! from the codec's `BLOCK_ELEMS` / `BLOCK_BYTES` (each checked at compile time against
//! its field offsets); the others spell ggml's `sizeof(block_*)` here, and only here.

use std::fmt;

use crate::quant::k_affine::QK_K;
use crate::quant::{float, q4_0, q4_k, q5_0, q5_k, q6_k, q8_0, q8_k};

macro_rules! ggml_types {
    ($($(#[doc = $doc:literal])* $variant:ident = $id:literal, $name:literal, $block:expr, $bytes:expr;)*) => {
        /// A ggml tensor element type, as stored in a GGUF tensor info (`ggml_type`).
        /// Variants keep ggml's spelling (`Q4_K`) so names match llama.cpp and gguf-py.
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum GgmlType {
            $($(#[doc = $doc])* $variant = $id,)*
        }

        impl GgmlType {
            /// Every type, in id order.
            pub const ALL: &'static [GgmlType] = &[$(GgmlType::$variant,)*];

            /// The type with on-disk id `id`, if ggml defines one.
            pub fn from_id(id: u32) -> Option<Self> {
                match id {
                    $($id => Some(Self::$variant),)*
                    _ => None,
                }
            }

            /// The name ggml and gguf-py print (`Q4_K`, `F16`, ...).
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }

            /// Elements per block and bytes per block.
            const fn layout(self) -> (usize, usize) {
                match self {
                    $(Self::$variant => ($block, $bytes),)*
                }
            }
        }
    };
}

ggml_types! {
    /// 32-bit IEEE float.
    F32 = 0, "F32", 1, float::F32_BYTES;
    /// 16-bit IEEE half float.
    F16 = 1, "F16", 1, float::F16_BYTES;
    /// 4-bit, blocks of 32 with an f16 scale.
    Q4_0 = 2, "Q4_0", q4_0::BLOCK_ELEMS, q4_0::BLOCK_BYTES;
    /// 4-bit, blocks of 32 with f16 scale and minimum.
    Q4_1 = 3, "Q4_1", 32, 2 + 2 + 16;
    /// 5-bit, blocks of 32 with an f16 scale.
    Q5_0 = 6, "Q5_0", q5_0::BLOCK_ELEMS, q5_0::BLOCK_BYTES;
    /// 5-bit, blocks of 32 with f16 scale and minimum.
    Q5_1 = 7, "Q5_1", 32, 2 + 2 + 4 + 16;
    /// 8-bit, blocks of 32 with an f16 scale.
    Q8_0 = 8, "Q8_0", q8_0::BLOCK_ELEMS, q8_0::BLOCK_BYTES;
    /// 8-bit, blocks of 32 with f32 scale and sum.
    Q8_1 = 9, "Q8_1", 32, 4 + 4 + 32;
    /// 2-bit k-quant.
    Q2_K = 10, "Q2_K", QK_K, 2 + 2 + QK_K / 16 + QK_K / 4;
    /// 3-bit k-quant.
    Q3_K = 11, "Q3_K", QK_K, 2 + QK_K / 4 + QK_K / 8 + 12;
    /// 4-bit k-quant.
    Q4_K = 12, "Q4_K", q4_k::BLOCK_ELEMS, q4_k::BLOCK_BYTES;
    /// 5-bit k-quant.
    Q5_K = 13, "Q5_K", q5_k::BLOCK_ELEMS, q5_k::BLOCK_BYTES;
    /// 6-bit k-quant.
    Q6_K = 14, "Q6_K", q6_k::BLOCK_ELEMS, q6_k::BLOCK_BYTES;
    /// 8-bit k-quant (activations).
    Q8_K = 15, "Q8_K", q8_k::BLOCK_ELEMS, q8_k::BLOCK_BYTES;
    /// i-quant, 2.06 bits per weight.
    IQ2_XXS = 16, "IQ2_XXS", QK_K, 2 + QK_K / 4;
    /// i-quant, 2.31 bits per weight.
    IQ2_XS = 17, "IQ2_XS", QK_K, 2 + QK_K / 4 + QK_K / 32;
    /// i-quant, 3.06 bits per weight.
    IQ3_XXS = 18, "IQ3_XXS", QK_K, 2 + QK_K / 4 + QK_K / 8;
    /// i-quant, 1.56 bits per weight.
    IQ1_S = 19, "IQ1_S", QK_K, 2 + QK_K / 8 + QK_K / 16;
    /// 4-bit non-linear, blocks of 32.
    IQ4_NL = 20, "IQ4_NL", 32, 2 + 16;
    /// i-quant, 3.44 bits per weight.
    IQ3_S = 21, "IQ3_S", QK_K, 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4;
    /// i-quant, 2.5 bits per weight.
    IQ2_S = 22, "IQ2_S", QK_K, 2 + QK_K / 4 + QK_K / 16;
    /// 4-bit non-linear k-quant layout.
    IQ4_XS = 23, "IQ4_XS", QK_K, 2 + 2 + QK_K / 2 + QK_K / 64;
    /// 8-bit signed integer.
    I8 = 24, "I8", 1, 1;
    /// 16-bit signed integer.
    I16 = 25, "I16", 1, 2;
    /// 32-bit signed integer.
    I32 = 26, "I32", 1, 4;
    /// 64-bit signed integer.
    I64 = 27, "I64", 1, 8;
    /// 64-bit IEEE float.
    F64 = 28, "F64", 1, 8;
    /// i-quant, 1.75 bits per weight.
    IQ1_M = 29, "IQ1_M", QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32;
    /// bfloat16.
    BF16 = 30, "BF16", 1, float::BF16_BYTES;
    /// Ternary, 1.69 bits per weight.
    TQ1_0 = 34, "TQ1_0", QK_K, 2 + 4 * 13;
    /// Ternary, 2.06 bits per weight.
    TQ2_0 = 35, "TQ2_0", QK_K, 2 + 64;
    /// Microscaling FP4, blocks of 32 with an E8M0 scale.
    MXFP4 = 39, "MXFP4", 32, 1 + 16;
    /// NVIDIA FP4, blocks of 64 with four E4M3 scales.
    NVFP4 = 40, "NVFP4", 64, 4 + 32;
    /// 1-bit, blocks of 128.
    Q1_0 = 41, "Q1_0", 128, 2 + 16;
    /// 2-bit, blocks of 64.
    Q2_0 = 42, "Q2_0", 64, 2 + 16;
}

impl GgmlType {
    /// Elements per block (1 for plain scalar types).
    pub fn block_size(self) -> u64 {
        self.layout().0 as u64
    }

    /// Bytes per block.
    pub fn type_size(self) -> u64 {
        self.layout().1 as u64
    }

    /// Elements per block, as a `usize` (the in-memory view of [`GgmlType::block_size`]).
    pub fn block_elems(self) -> usize {
        self.layout().0
    }

    /// Bytes per block, as a `usize` (the in-memory view of [`GgmlType::type_size`]).
    pub fn block_bytes(self) -> usize {
        self.layout().1
    }

    /// True for block-quantized types (block size above 1).
    pub fn is_quantized(self) -> bool {
        self.block_size() > 1
    }

    /// The type named `name` (case-insensitive, as printed by [`GgmlType::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }

    /// Bytes of one row of `n` elements, or `None` when `n` is not a whole number
    /// of blocks or the size overflows.
    pub fn row_bytes(self, n: u64) -> Option<u64> {
        if !n.is_multiple_of(self.block_size()) {
            return None;
        }
        (n / self.block_size()).checked_mul(self.type_size())
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_unknown_ids_are_rejected() {
        for &t in GgmlType::ALL {
            assert_eq!(GgmlType::from_id(t as u32), Some(t));
            assert_eq!(GgmlType::from_name(t.name()), Some(t));
        }
        for id in [4, 5, 31, 32, 33, 36, 37, 38, 43, u32::MAX] {
            assert_eq!(GgmlType::from_id(id), None, "id {id}");
        }
    }

    #[test]
    fn block_layouts_match_the_architecture_notes() {
        assert_eq!(
            (GgmlType::Q8_0.block_size(), GgmlType::Q8_0.type_size()),
            (32, 34)
        );
        assert_eq!(
            (GgmlType::Q4_K.block_size(), GgmlType::Q4_K.type_size()),
            (256, 144)
        );
        assert_eq!(
            (GgmlType::Q6_K.block_size(), GgmlType::Q6_K.type_size()),
            (256, 210)
        );
        assert_eq!(GgmlType::Q4_K.row_bytes(4096), Some(16 * 144));
        assert_eq!(GgmlType::Q4_K.row_bytes(640), None);
        assert_eq!(GgmlType::F32.row_bytes(u64::MAX), None);
    }
}
