//! Activations converted to the type a weight matrix multiplies with, the way
//! llama.cpp converts them (`quantize_row_q8_K`, x86 `quantize_row_q8_0`, f16 rounding).

use super::{ActivationType, QK8_0, QK_K};

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
            for (xs, o) in x.chunks_exact(QK8_0).zip(out.chunks_exact_mut(34)) {
                quantize_block_q8_0(xs, o);
            }
        }
        ActivationType::Q8K => {
            for (xs, o) in x.chunks_exact(QK_K).zip(out.chunks_exact_mut(292)) {
                quantize_block_q8k(xs, o);
            }
        }
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

/// One Q8_K block as llama.cpp's `quantize_row_q8_K_ref` makes it: scale from the
/// signed value of largest magnitude (iscale = −127/max), round-half-even, clamp to
/// 127, f32 d = 1/iscale, plus the 16 sums of 16 quants.
fn quantize_block_q8k(x: &[f32], out: &mut [u8]) {
    let (mut amax, mut max) = (0.0f32, 0.0f32);
    for &v in x {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    out.fill(0);
    if amax == 0.0 {
        return;
    }
    let iscale = -127.0 / max;
    for (q, v) in out[4..260].iter_mut().zip(x) {
        *q = ((iscale * v).round_ties_even() as i32).min(127) as i8 as u8;
    }
    for g in 0..16 {
        let s: i32 = out[4 + 16 * g..4 + 16 * g + 16]
            .iter()
            .map(|&q| q as i8 as i32)
            .sum();
        out[260 + 2 * g..262 + 2 * g].copy_from_slice(&(s as i16).to_le_bytes());
    }
    out[..4].copy_from_slice(&(1.0 / iscale).to_le_bytes());
}
