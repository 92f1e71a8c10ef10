//! Round-trip error of every quantization type on raw f32 files.
//!
//! Usage: `cargo run --release --example quant_rmse -- FILE.f32...`
//!
//! Each file is little-endian f32 values (truncated to a multiple of 256). For each file
//! and type, prints one JSON object per line: the RMSE of dequantize(quantize(x)) against
//! x, that RMSE relative to the RMS of x, and the SHA-256 of the quantized bytes (which
//! `scripts/llama_cpp/quant_rmse.py` compares with llama.cpp's).

use std::path::Path;

use anyhow::{Context, Result};
use okla_formats::progress::NoProgress;
use okla_formats::quant::tensor::{dequantize_tensor_into, quantize_tensor};
use okla_formats::quant::QuantType;
use sha2::{Digest, Sha256};

/// Values per quantized row (one K-quant super-block).
const ROW: usize = 256;

fn main() -> Result<()> {
    let files: Vec<String> = std::env::args().skip(1).collect();
    anyhow::ensure!(!files.is_empty(), "usage: quant_rmse FILE.f32...");
    for file in &files {
        let values = read_f32s(Path::new(file))?;
        let rms = (values.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / values.len() as f64)
            .sqrt();
        for ty in QuantType::ALL {
            let bytes = quantize_tensor(ty, &values, ROW, &NoProgress)
                .with_context(|| format!("{file}: quantizing to {ty}"))?;
            let mut back = vec![0f32; values.len()];
            dequantize_tensor_into(ty, &bytes, ROW, &mut back)?;
            let squared: f64 = values
                .iter()
                .zip(&back)
                .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
                .sum();
            let rmse = (squared / values.len() as f64).sqrt();
            let sha256: String = Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            println!(
                "{}",
                serde_json::json!({
                    "file": file,
                    "type": ty.name(),
                    "values": values.len(),
                    "rmse": rmse,
                    "relative_rmse": if rms > 0.0 { rmse / rms } else { 0.0 },
                    "sha256": sha256,
                })
            );
        }
    }
    Ok(())
}

fn read_f32s(path: &Path) -> Result<Vec<f32>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let whole = bytes.len() / 4 / ROW * ROW;
    anyhow::ensure!(whole > 0, "{}: fewer than {ROW} f32 values", path.display());
    Ok(bytes
        .chunks_exact(4)
        .take(whole)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}
