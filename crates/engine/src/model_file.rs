//! Writing a Llama model as a GGUF file llama.cpp loads and chats with: the
//! `llama.*` hyper-parameters, the tokenizer and chat template, and every weight
//! quantized by llama-quantize's recipe for the chosen file type.

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

/// Writes `tensors` (f32, loaded one at a time by `load(i)`, `i` indexing
/// `tensors`) to `path` atomically, in llama.cpp's tensor order, each quantized to
/// the type llama-quantize's recipe picks for `file_type`; reports progress in
/// tensors (the message names the tensor and its type).
pub fn write_llama_gguf(
    path: &Path,
    metadata: Metadata,
    tensors: &[TensorEntry],
    file_type: FileType,
    load: impl Fn(usize) -> Result<Vec<f32>>,
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
        let data = load(order[i]).map_err(|e| std::io::Error::other(format!("{e:#}")))?;
        let codec = QuantType::from_ggml_type_id(types[i] as u32)
            .ok_or_else(|| std::io::Error::other(format!("no codec for {}", types[i].name())))?;
        let bytes = quantize_tensor(codec, &data, entry.cols(), &NoProgress)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", entry.name)))?;
        progress.advance(1);
        w.write_all(&bytes)
    });
    progress.finish();
    result.with_context(|| format!("cannot write {}", path.display()))
}
