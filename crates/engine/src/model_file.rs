//! Writing a Llama model as a GGUF file llama.cpp loads and chats with: the
//! `llama.*` hyper-parameters, the tokenizer and chat template, and every weight
//! quantized by llama-quantize's recipe for the chosen file type.

use std::ops::Range;
use std::path::Path;

use anyhow::{Context, Result};

use okla_formats::gguf::{
    llama_order, plan, Array, FileType, GgmlType, GgufWriter, Metadata, ModelFacts, TensorSpec,
    Value,
};
use okla_formats::llama_config::LlamaConfig;
use okla_formats::progress::{NoProgress, Progress};
use okla_formats::quant::tensor::quantize_tensor;
use okla_formats::quant::QuantType;
use okla_text::gguf_vocab::GgufVocab;
use okla_text::LLAMA3_CHAT_TEMPLATE;

/// One f32 tensor to write: its GGUF name and GGUF dimensions (innermost first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorEntry {
    /// GGUF tensor name (`blk.0.attn_q.weight`).
    pub name: String,
    /// Dimensions, innermost first (`[cols, rows]` for a matrix, `[n]` for a vector).
    pub dims: Vec<u64>,
}

impl TensorEntry {
    /// Elements per row (the innermost dimension).
    pub fn cols(&self) -> usize {
        self.dims.first().copied().unwrap_or(1) as usize
    }

    /// Rows (the product of the outer dimensions; 1 for a vector).
    pub fn rows(&self) -> usize {
        self.dims.iter().skip(1).product::<u64>() as usize
    }
}

/// Values (f32) one slice of a tensor holds at most while it is written: 32 Mi, 128 MiB.
const SLICE_VALUES: usize = 1 << 25;

/// Slices of a tensor's rows are multiples of this many rows (but the last), so that
/// a slice never splits an attention head (llama.cpp's Q/K row permutation stays
/// within a head of up to 256 rows).
const SLICE_ROW_MULTIPLE: usize = 256;

/// The row ranges a tensor of `rows × cols` is loaded and quantized in: as many rows
/// as [`SLICE_VALUES`] allows, in multiples of [`SLICE_ROW_MULTIPLE`], at least one
/// multiple. Quantization is row by row, so the bytes equal the whole tensor's.
pub fn row_slices(rows: usize, cols: usize) -> impl Iterator<Item = Range<usize>> {
    let per_slice = (SLICE_VALUES / cols.max(1) / SLICE_ROW_MULTIPLE).max(1) * SLICE_ROW_MULTIPLE;
    (0..rows)
        .step_by(per_slice)
        .map(move |start| start..(start + per_slice).min(rows))
}

/// The `llama.*`, `general.*`, tokenizer and chat-template metadata of a model.
pub fn llama_metadata(
    config: &LlamaConfig,
    name: &str,
    file_type: FileType,
    vocab: GgufVocab,
) -> Metadata {
    let mut md = Metadata::new();
    let u32v = |v: usize| Value::U32(v as u32);
    md.insert("general.architecture", Value::String("llama".into()));
    md.insert("general.name", Value::String(name.into()));
    md.insert("general.file_type", Value::U32(file_type.ftype_id()));
    md.insert("general.quantization_version", Value::U32(2));
    md.insert("llama.vocab_size", u32v(config.vocab));
    md.insert("llama.context_length", u32v(config.context));
    md.insert("llama.embedding_length", u32v(config.dim));
    md.insert("llama.block_count", u32v(config.layers));
    md.insert("llama.feed_forward_length", u32v(config.ff));
    md.insert("llama.rope.dimension_count", u32v(config.rope_dims));
    md.insert("llama.attention.head_count", u32v(config.heads));
    md.insert("llama.attention.head_count_kv", u32v(config.kv_heads));
    md.insert(
        "llama.attention.layer_norm_rms_epsilon",
        Value::F32(config.rms_eps),
    );
    md.insert("llama.rope.freq_base", Value::F32(config.rope_theta));
    md.insert("tokenizer.ggml.model", Value::String(vocab.model));
    md.insert("tokenizer.ggml.pre", Value::String(vocab.pre));
    md.insert(
        "tokenizer.ggml.tokens",
        Value::Array(Array::String(vocab.tokens)),
    );
    md.insert(
        "tokenizer.ggml.token_type",
        Value::Array(Array::I32(vocab.token_types)),
    );
    md.insert(
        "tokenizer.ggml.merges",
        Value::Array(Array::String(vocab.merges)),
    );
    if let Some(bos) = vocab.bos {
        md.insert("tokenizer.ggml.bos_token_id", Value::U32(bos));
    }
    if let Some(eos) = vocab.eos {
        md.insert("tokenizer.ggml.eos_token_id", Value::U32(eos));
    }
    md.insert("tokenizer.ggml.add_bos_token", Value::Bool(false));
    md.insert(
        "tokenizer.chat_template",
        Value::String(LLAMA3_CHAT_TEMPLATE.into()),
    );
    md
}

/// Writes `tensors` (f32, loaded by `load(i, rows)`: rows `rows` of tensor `i`,
/// `i` indexing `tensors`) to `path` atomically, in llama.cpp's tensor order, each
/// quantized to the type llama-quantize's recipe picks for `file_type`. Each tensor
/// is loaded and quantized in the slices of [`row_slices`], so host memory holds one
/// slice of f32 values, not the largest tensor (2 GiB for Llama-3-8B's embedding).
/// Reports progress in tensors (the message names the tensor and its type).
pub fn write_llama_gguf(
    path: &Path,
    metadata: Metadata,
    tensors: &[TensorEntry],
    file_type: FileType,
    load: impl Fn(usize, Range<usize>) -> Result<Vec<f32>>,
    progress: &dyn Progress,
) -> Result<()> {
    let names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    let order = llama_order(&names);
    let f32_specs: Vec<TensorSpec> = order
        .iter()
        .map(|&i| {
            TensorSpec::new(
                tensors[i].name.clone(),
                GgmlType::F32,
                tensors[i].dims.clone(),
            )
        })
        .collect();
    let facts = ModelFacts::from_metadata(&metadata).map_err(anyhow::Error::msg)?;
    let types = plan(file_type, &facts, &f32_specs).map_err(anyhow::Error::msg)?;
    let specs: Vec<TensorSpec> = f32_specs
        .iter()
        .zip(&types)
        .map(|(s, ty)| TensorSpec::new(s.name.clone(), *ty, s.dims.clone()))
        .collect();
    let writer = GgufWriter::new(metadata, specs)?;
    progress.start(tensors.len() as u64, "tensors");
    let result = writer.write_file(path, |i, w| {
        let entry = &tensors[order[i]];
        progress.message(&format!("{} → {}", entry.name, types[i].name()));
        let codec = QuantType::from_ggml_type_id(types[i] as u32)
            .ok_or_else(|| std::io::Error::other(format!("no codec for {}", types[i].name())))?;
        for rows in row_slices(entry.rows(), entry.cols()) {
            let data = load(order[i], rows).map_err(|e| std::io::Error::other(format!("{e:#}")))?;
            let bytes = quantize_tensor(codec, &data, entry.cols(), &NoProgress)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", entry.name)))?;
            w.write_all(&bytes)?;
        }
        progress.advance(1);
        Ok(())
    });
    progress.finish();
    result.with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use okla_formats::quant::tensor::quantize_tensor;
    use proptest::prelude::*;

    proptest! {
        /// The slices cover every row once, in order, in whole multiples of
        /// SLICE_ROW_MULTIPLE rows (but the last), each within the value budget.
        #[test]
        fn row_slices_cover_the_rows_in_whole_heads_within_budget(
            rows in 1usize..400_000, cols in 1usize..40_000,
        ) {
            let slices: Vec<Range<usize>> = row_slices(rows, cols).collect();
            let mut next = 0;
            for (k, s) in slices.iter().enumerate() {
                prop_assert_eq!(s.start, next);
                prop_assert!(!s.is_empty());
                if k + 1 < slices.len() {
                    prop_assert_eq!(s.len() % SLICE_ROW_MULTIPLE, 0);
                }
                prop_assert!(s.len() * cols <= SLICE_VALUES.max(SLICE_ROW_MULTIPLE * cols));
                next = s.end;
            }
            prop_assert_eq!(next, rows);
        }
    }

    #[test]
    fn quantizing_row_slices_gives_the_whole_tensors_bytes() {
        let (rows, cols) = (600usize, 256usize);
        let data: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 7919 % 1009) as f32 - 504.0) / 300.0)
            .collect();
        for codec in [QuantType::Q4K, QuantType::Q6K, QuantType::Q8_0] {
            let whole = quantize_tensor(codec, &data, cols, &NoProgress).unwrap();
            let mut sliced = Vec::new();
            for s in [0..256, 256..512, 512..600] {
                sliced.extend(
                    quantize_tensor(
                        codec,
                        &data[s.start * cols..s.end * cols],
                        cols,
                        &NoProgress,
                    )
                    .unwrap(),
                );
            }
            assert_eq!(sliced, whole, "{codec:?}");
        }
    }
}
