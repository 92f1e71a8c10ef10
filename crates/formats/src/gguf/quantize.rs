//! `gguf quantize`: re-quantize a GGUF file to Q4_K_M, Q8_0 or F16 the way
//! llama-quantize does — same tensor order, tensor types ([`super::recipe`]),
//! metadata edits and layout — so the output matches llama.cpp's byte for byte
//! wherever its quantizers are deterministic.
//!
//! Tensors are processed one slab of rows at a time (rows in parallel, rayon), and
//! written straight into the atomic output, so memory stays bounded by one slab.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use super::ggml_type::GgmlType;
use super::metadata::Metadata;
use super::reader::GgufFile;
use super::recipe::{effective_dims, llama_order, plan, FileType, ModelFacts};
use super::tensor::{TensorInfo, TensorSpec};
use super::value::Value;
use super::writer::GgufWriter;
use crate::error::InputError;
use crate::progress::Progress;
use crate::quant::tensor::{dequantize_tensor_into, quantize_tensor_into};
use crate::quant::QuantType;

/// llama.cpp's quantization format version (`GGML_QNT_VERSION`).
const QUANTIZATION_VERSION: u32 = 2;
/// Split-file keys llama-quantize drops from its output.
const SPLIT_KEYS: [&str; 3] = ["split.no", "split.count", "split.tensors.count"];
/// Upper bound on the f32 values of one slab of rows.
const SLAB_VALUES: usize = 16 << 20;

/// Sets `general.quantization_version` and `general.file_type` as llama-quantize
/// does (gguf's `set_val` removes a key and appends it): both become the last two
/// keys, in that order, whatever their place before.
pub fn stamp_file_type(metadata: &mut Metadata, file_type: FileType) {
    for (key, value) in [
        ("general.quantization_version", QUANTIZATION_VERSION),
        ("general.file_type", file_type.ftype_id()),
    ] {
        metadata.remove(key);
        metadata.insert(key, Value::U32(value));
    }
}

/// One tensor of the output: where it comes from and what it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTensor {
    /// Tensor name.
    pub name: String,
    /// Type in the input file.
    pub from: GgmlType,
    /// Type in the output file.
    pub to: GgmlType,
    /// Bytes in the input file.
    pub bytes_in: u64,
    /// Bytes in the output file.
    pub bytes_out: u64,
}

/// What a quantization run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantizeReport {
    /// Every tensor in output order.
    pub tensors: Vec<PlannedTensor>,
}

impl QuantizeReport {
    /// Total tensor bytes in (input) and out (output).
    pub fn totals(&self) -> (u64, u64) {
        self.tensors
            .iter()
            .fold((0, 0), |(a, b), t| (a + t.bytes_in, b + t.bytes_out))
    }
}

/// The codec for `t`, or an input error naming the tensor.
fn codec(t: GgmlType, tensor: &str, file: &Path) -> Result<QuantType> {
    QuantType::from_ggml_type_id(t as u32).ok_or_else(|| {
        InputError::file(
            file,
            format!("tensor `{tensor}`: no {t} codec is implemented, cannot convert it"),
        )
        .into()
    })
}

/// Re-quantize `input` into `output` (written atomically), reporting progress in
/// tensor values (the message names the tensor in work).
pub fn quantize_file(
    input: &Path,
    output: &Path,
    file_type: FileType,
    progress: &dyn Progress,
) -> Result<QuantizeReport> {
    let file = GgufFile::open(input)?;
    let facts =
        ModelFacts::from_metadata(file.metadata()).map_err(|m| InputError::file(input, m))?;
    let names: Vec<&str> = file.tensors().iter().map(|t| t.name.as_str()).collect();
    let sources: Vec<&TensorInfo> = llama_order(&names)
        .into_iter()
        .map(|i| &file.tensors()[i])
        .collect();
    let specs: Vec<TensorSpec> = sources
        .iter()
        .map(|t| {
            let n = effective_dims(&t.dims).min(t.dims.len());
            TensorSpec::new(t.name.clone(), t.ggml_type, t.dims[..n].to_vec())
        })
        .collect();
    let types = plan(file_type, &facts, &specs).map_err(|m| InputError::file(input, m))?;

    for (src, &to) in sources.iter().zip(&types) {
        if src.ggml_type != to {
            if src.ggml_type.is_quantized() {
                return Err(InputError::file(
                    input,
                    format!(
                        "tensor `{}` is already {}; re-quantizing quantized tensors is refused (as llama-quantize does by default)",
                        src.name, src.ggml_type
                    ),
                )
                .into());
            }
            codec(src.ggml_type, &src.name, input)?;
            codec(to, &src.name, input)?;
        }
    }

    let mut metadata = file.metadata().clone();
    for key in SPLIT_KEYS {
        metadata.remove(key);
    }
    stamp_file_type(&mut metadata, file_type);
    let out_specs: Vec<TensorSpec> = specs
        .iter()
        .zip(&types)
        .map(|(s, &t)| TensorSpec::new(s.name.clone(), t, s.dims.clone()))
        .collect();
    let writer = GgufWriter::new(metadata, out_specs.clone())
        .map_err(|e| InputError::file(input, e.to_string()))?;

    let total_values: u64 = sources.iter().map(|t| t.n_elements()).sum();
    progress.start(total_values, "values");
    let written = writer.write_file(output, |i, w| {
        progress.message(&sources[i].name);
        convert(&file, sources[i], types[i], w, progress)
    });
    progress.finish();
    written?;

    let tensors = sources
        .iter()
        .zip(&out_specs)
        .enumerate()
        .map(|(i, (src, spec))| PlannedTensor {
            name: src.name.clone(),
            from: src.ggml_type,
            to: spec.ggml_type,
            bytes_in: src.n_bytes,
            bytes_out: writer.tensor_n_bytes(i),
        })
        .collect();
    Ok(QuantizeReport { tensors })
}

/// Write `src` converted to `to` into `w`, slab by slab.
fn convert(
    file: &GgufFile,
    src: &TensorInfo,
    to: GgmlType,
    w: &mut dyn Write,
    progress: &dyn Progress,
) -> std::io::Result<()> {
    let data = file.tensor_data(src);
    if src.ggml_type == to || data.is_empty() {
        w.write_all(data)?;
        progress.advance(src.n_elements());
        return Ok(());
    }
    // Both codecs exist and the row length is whole blocks of both: checked by the caller.
    let (Some(from_codec), Some(to_codec)) = (
        QuantType::from_ggml_type_id(src.ggml_type as u32),
        QuantType::from_ggml_type_id(to as u32),
    ) else {
        return Err(std::io::Error::other(format!(
            "tensor `{}`: missing codec",
            src.name
        )));
    };
    let row_len = src.row_len() as usize;
    let rows = src.n_rows() as usize;
    let bytes_in_row = src.ggml_type.row_bytes(row_len as u64).unwrap_or(0) as usize;
    let bytes_out_row = to.row_bytes(row_len as u64).unwrap_or(0) as usize;
    let slab_rows = (SLAB_VALUES / row_len.max(1)).max(1);
    let mut values = vec![0f32; slab_rows.min(rows) * row_len];
    let mut out = vec![0u8; slab_rows.min(rows) * bytes_out_row];
    let mut row = 0;
    while row < rows {
        let n = slab_rows.min(rows - row);
        let input = &data[row * bytes_in_row..(row + n) * bytes_in_row];
        let values = &mut values[..n * row_len];
        let out = &mut out[..n * bytes_out_row];
        let fail = |e: crate::quant::QuantError| {
            std::io::Error::other(format!("tensor `{}`: {e}", src.name))
        };
        dequantize_tensor_into(from_codec, input, row_len, values).map_err(fail)?;
        let values_done = |rows: u64| progress.advance(rows * row_len as u64);
        quantize_tensor_into(to_codec, values, row_len, out, &values_done).map_err(fail)?;
        w.write_all(out)?;
        row += n;
    }
    Ok(())
}

/// Quantize with a rayon pool of `threads` threads (0: rayon's default).
pub fn quantize_file_with_threads(
    input: &Path,
    output: &Path,
    file_type: FileType,
    threads: usize,
    progress: &dyn Progress,
) -> Result<QuantizeReport> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting the quantization threads")?;
    pool.install(|| quantize_file(input, output, file_type, progress))
}
