//! Whole-tensor quantization: rows in parallel (rayon), input checked for non-finite
//! values, progress reported in rows through a [`Progress`] (any `Fn(u64)` closure is
//! one).
//!
//! ```
//! use okla_formats::quant::{tensor::quantize_tensor, QuantType};
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! let weights = vec![0.25f32; 4 * 256];
//! let rows_done = AtomicU64::new(0);
//! let bytes = quantize_tensor(QuantType::Q4K, &weights, 256, &|rows: u64| {
//!     rows_done.fetch_add(rows, Ordering::Relaxed);
//! })?;
//! assert_eq!(bytes.len(), 4 * 144);
//! assert_eq!(rows_done.load(Ordering::Relaxed), 4);
//! # Ok::<(), okla_formats::quant::QuantError>(())
//! ```

use rayon::prelude::*;

use super::{QuantError, QuantType};
use crate::progress::Progress;

/// Rows handed to one rayon task (and reported to the progress) at a time.
const ROWS_PER_TASK: usize = 16;

/// Quantizes a row-major tensor of rows of `row_len` values into `out` (exactly
/// `rows * ty.bytes_for(row_len)` bytes), rows in parallel. Output is identical to
/// quantizing row after row. Fails before writing anything if `row_len` is not a whole
/// number of blocks, a size is wrong, or a value is NaN or ±inf (naming row and column).
/// `progress` advances by finished rows (it is not started or finished here).
pub fn quantize_tensor_into(
    ty: QuantType,
    data: &[f32],
    row_len: usize,
    out: &mut [u8],
    progress: &dyn Progress,
) -> Result<(), QuantError> {
    let row_bytes = check_shape(ty, data.len(), row_len, out.len(), "output")?;
    if let Some(index) = data.iter().position(|v| !v.is_finite()) {
        return Err(QuantError::NonFinite {
            row: index / row_len,
            column: index % row_len,
            value: data[index],
        });
    }
    data.par_chunks(row_len * ROWS_PER_TASK)
        .zip(out.par_chunks_mut(row_bytes * ROWS_PER_TASK))
        .try_for_each(|(rows, bytes)| {
            for (row, row_out) in rows
                .chunks_exact(row_len)
                .zip(bytes.chunks_exact_mut(row_bytes))
            {
                ty.quantize_row(row, row_out)?;
            }
            progress.advance((rows.len() / row_len) as u64);
            Ok(())
        })
}

/// Quantizes a row-major tensor into a new buffer; see [`quantize_tensor_into`].
pub fn quantize_tensor(
    ty: QuantType,
    data: &[f32],
    row_len: usize,
    progress: &dyn Progress,
) -> Result<Vec<u8>, QuantError> {
    let rows = data.len().checked_div(row_len).unwrap_or(0);
    let bytes = ty
        .bytes_for(row_len)?
        .checked_mul(rows)
        .ok_or(QuantError::TooLarge {
            ty,
            elems: data.len(),
        })?;
    let mut out = vec![0u8; bytes];
    quantize_tensor_into(ty, data, row_len, &mut out, progress)?;
    Ok(out)
}

/// Dequantizes a row-major tensor of rows of `row_len` values from `data` into `out`,
/// rows in parallel.
pub fn dequantize_tensor_into(
    ty: QuantType,
    data: &[u8],
    row_len: usize,
    out: &mut [f32],
) -> Result<(), QuantError> {
    let row_bytes = check_shape(ty, out.len(), row_len, data.len(), "quantized data")?;
    data.par_chunks(row_bytes * ROWS_PER_TASK)
        .zip(out.par_chunks_mut(row_len * ROWS_PER_TASK))
        .try_for_each(|(bytes, rows)| {
            for (row_in, row) in bytes
                .chunks_exact(row_bytes)
                .zip(rows.chunks_exact_mut(row_len))
            {
                ty.dequantize_row(row_in, row)?;
            }
            Ok(())
        })
}

/// Checks that `elems` values form whole rows of whole blocks and that the quantized side
/// holds `bytes` bytes exactly; returns the bytes per row.
fn check_shape(
    ty: QuantType,
    elems: usize,
    row_len: usize,
    bytes: usize,
    what: &'static str,
) -> Result<usize, QuantError> {
    let row_bytes = ty.bytes_for(row_len)?;
    if row_len == 0 || !elems.is_multiple_of(row_len) {
        return Err(QuantError::NotBlockMultiple {
            ty,
            block: row_len,
            len: elems,
        });
    }
    let expected = (elems / row_len)
        .checked_mul(row_bytes)
        .ok_or(QuantError::TooLarge { ty, elems })?;
    if bytes != expected {
        return Err(QuantError::BufferSize {
            ty,
            what,
            expected,
            actual: bytes,
        });
    }
    Ok(row_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn sample(rows: usize, row_len: usize) -> Vec<f32> {
        (0..rows * row_len)
            .map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 250.0)
            .collect()
    }

    #[test]
    fn parallel_tensor_matches_row_by_row_and_reports_every_row() {
        let (rows, row_len) = (37, 512);
        let data = sample(rows, row_len);
        for ty in QuantType::ALL {
            let done = AtomicU64::new(0);
            let counter = |n: u64| {
                done.fetch_add(n, Ordering::Relaxed);
            };
            let parallel = quantize_tensor(ty, &data, row_len, &counter).unwrap();
            let row_bytes = ty.bytes_for(row_len).unwrap();
            let mut serial = vec![0u8; rows * row_bytes];
            for (row, out) in data.chunks(row_len).zip(serial.chunks_mut(row_bytes)) {
                ty.quantize_row(row, out).unwrap();
            }
            assert_eq!(parallel, serial, "{ty}");
            assert_eq!(done.load(Ordering::Relaxed), rows as u64, "{ty}");

            let mut back = vec![0f32; data.len()];
            dequantize_tensor_into(ty, &parallel, row_len, &mut back).unwrap();
            let mut serial_back = vec![0f32; row_len];
            ty.dequantize_row(&serial[..row_bytes], &mut serial_back)
                .unwrap();
            assert_eq!(back[..row_len], serial_back[..], "{ty}");
        }
    }

    #[test]
    fn non_finite_values_are_rejected_with_their_position() {
        let mut data = sample(4, 256);
        data[2 * 256 + 9] = f32::NAN;
        let err = quantize_tensor(QuantType::Q4K, &data, 256, &NoProgress).unwrap_err();
        assert!(
            matches!(
                err,
                QuantError::NonFinite {
                    row: 2,
                    column: 9,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn rows_that_are_not_whole_blocks_are_rejected() {
        let data = sample(2, 100);
        let err = quantize_tensor(QuantType::Q8_0, &data, 100, &NoProgress).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Q8_0 needs a multiple of 32 elements, got 100"
        );
        let err = quantize_tensor(QuantType::F16, &data, 0, &NoProgress).unwrap_err();
        assert!(matches!(err, QuantError::NotBlockMultiple { .. }), "{err}");
    }
}
