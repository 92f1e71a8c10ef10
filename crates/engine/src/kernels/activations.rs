//! Activations converted to the type a weight matrix multiplies with, the way
//! llama.cpp converts them: Q8_K through [`okla_formats::quant`] (`quantize_row_q8_K_ref`,
//! which x86 uses too), Q8_0 as llama.cpp's x86 `quantize_row_q8_0` (round half to
//! even with 127/amax, not the reference's round-half-away), f16 round-to-nearest.

use super::{ActivationType, Q8_0_BLOCK_BYTES, QK8_0};
use okla_formats::quant::QuantType;

/// A batch of activation rows converted to one [`ActivationType`].
#[derive(Debug, Clone)]
pub struct ActivationRows {
    /// The storage type of every row.
    pub ty: ActivationType,
    /// Elements per row.
    pub cols: usize,
    /// Bytes per converted row.
    pub row_bytes: usize,
    /// `rows × row_bytes` bytes.
    pub data: Vec<u8>,
}

impl ActivationRows {
    /// Converts the rows of `x` (`x.len() / cols` rows of `cols` f32) to `ty`.
    pub fn quantize(ty: ActivationType, x: &[f32], cols: usize) -> Self {
        let row_bytes = ty.row_bytes(cols);
        let rows = x.len() / cols;
        let mut data = vec![0u8; rows * row_bytes];
        for (src, dst) in x.chunks_exact(cols).zip(data.chunks_exact_mut(row_bytes)) {
            quantize_row(ty, src, dst);
        }
        Self {
            ty,
            cols,
            row_bytes,
            data,
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.data.len() / self.row_bytes.max(1)
    }

    /// The bytes of row `i`.
    pub fn row(&self, i: usize) -> &[u8] {
        &self.data[i * self.row_bytes..(i + 1) * self.row_bytes]
    }
}

/// Converts one row of f32 activations into `out` (exactly `ty.row_bytes(x.len())` bytes).
pub fn quantize_row(ty: ActivationType, x: &[f32], out: &mut [u8]) {
    match ty {
        ActivationType::F32 => {
            for (v, o) in x.iter().zip(out.chunks_exact_mut(4)) {
                o.copy_from_slice(&v.to_le_bytes());
            }
        }
        ActivationType::F16 => {
            for (v, o) in x.iter().zip(out.chunks_exact_mut(2)) {
                o.copy_from_slice(&half::f16::from_f32(*v).to_le_bytes());
            }
        }
        ActivationType::Q8_0 => {
            for (xs, o) in x
                .chunks_exact(QK8_0)
                .zip(out.chunks_exact_mut(Q8_0_BLOCK_BYTES))
            {
                quantize_block_q8_0(xs, o);
            }
        }
        ActivationType::Q8K => QuantType::Q8K
            .quantize_row(x, out)
            .expect("Q8_K activation rows are whole blocks"),
    }
}

/// One Q8_0 block as llama.cpp's x86 path makes it: d = amax/127 stored as f16,
/// quants = round-half-even(x · 127/amax).
fn quantize_block_q8_0(x: &[f32], out: &mut [u8]) {
    let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
    out[..2].copy_from_slice(&half::f16::from_f32(d).to_le_bytes());
    for (q, v) in out[2..].iter_mut().zip(x) {
        *q = (v * id).round_ties_even() as i8 as u8;
    }
}
