//! Opening a GGUF (Llama or Gemma 3): the architecture and its hyper-parameters, the
//! tokenizer and chat template from the metadata, weights used in place from the
//! memory map.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{ensure, Context, Result};

use super::arch::Architecture;
use super::kernels::{Isa, WeightType};
use super::lora::LoraAdapter;
use super::model::Model;
use super::weights::{ModelWeights, TensorRef, TensorSource};
use okla_formats::error::InputError;
use okla_formats::gemma3_config::gemma3_config_from_metadata;
use okla_formats::gguf::Metadata;
use okla_formats::gguf::{GgmlType, GgufFile};
use okla_formats::llama_config::{config_from_metadata, BadParameter};
use okla_text::ChatTokenizer;

/// A GGUF file that lends its mapped bytes as weight storage.
struct MappedBytes(Arc<GgufFile>);

impl AsRef<[u8]> for MappedBytes {
    fn as_ref(&self) -> &[u8] {
        self.0.bytes()
    }
}

impl TensorSource for GgufFile {
    fn matrix(&self, name: &str) -> Result<Option<TensorRef>> {
        let Some(t) = self.tensor(name) else {
            return Ok(None);
        };
        ensure!(
            t.dims.len() == 2,
            "tensor {name} has {} dimensions, expected 2",
            t.dims.len()
        );
        let ty = WeightType::from_ggml(t.ggml_type).with_context(|| {
            format!("tensor {name} has type {}, which the engine cannot multiply (supported: F32, F16, Q8_0, Q5_0, Q4_K, Q6_K)", t.ggml_type.name())
        })?;
        Ok(Some(TensorRef {
            ty,
            rows: t.dims[1] as usize,
            cols: t.dims[0] as usize,
            offset: t.file_offset as usize,
        }))
    }

    fn vector(&self, name: &str) -> Result<Option<Vec<f32>>> {
        let Some(t) = self.tensor(name) else {
            return Ok(None);
        };
        ensure!(
            t.ggml_type == GgmlType::F32 && t.n_rows() <= 1,
            "tensor {name} must be a 1-D F32 vector, found {} {:?}",
            t.ggml_type.name(),
            t.dims
        );
        let data = self.tensor_data(t);
        Ok(Some(
            data.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        ))
    }
}

/// A loaded GGUF model with its tokenizer.
pub struct LoadedModel {
    /// The open file (metadata, tensor table).
    pub file: Arc<GgufFile>,
    /// The runnable model (shared with sessions).
    pub model: Arc<Model>,
    /// The tokenizer and chat template the metadata describes.
    pub tokenizer: ChatTokenizer,
    /// The file's end-of-sequence token (`tokenizer.ggml.eos_token_id`), if it names one.
    pub eos: Option<u32>,
    /// The GGUF LoRA adapter applied at run time, if any.
    pub lora: Option<PathBuf>,
}

impl std::fmt::Debug for LoadedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModel")
            .field("path", &self.file.path())
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl LoadedModel {
    /// The tokens that end an answer ([`ChatTokenizer::stop_tokens`] with the file's EOS).
    pub fn stop_tokens(&self) -> Vec<u32> {
        self.tokenizer.stop_tokens(self.eos)
    }
}

/// The architecture and hyper-parameters `general.architecture` names; an
/// unsupported one is an error listing those the engine runs.
pub fn architecture_from_metadata(md: &Metadata) -> Result<Architecture> {
    match md.str("general.architecture")? {
        "llama" => Ok(Architecture::Llama(config_from_metadata(md)?)),
        "gemma3" => Ok(Architecture::Gemma3(gemma3_config_from_metadata(md)?)),
        other => anyhow::bail!(
            "general.architecture is {other:?}; the engine runs \"llama\" and \"gemma3\" models"
        ),
    }
}

/// Opens `path` and prepares the model on `threads` threads. Problems with the file
/// (an unsupported architecture, missing tensors or keys, unsupported types) are input
/// errors naming the file (and the metadata key, for a bad hyper-parameter).
pub fn load(path: &Path, threads: usize) -> Result<LoadedModel> {
    load_with_lora(path, None, threads)
}

/// [`load`], with the GGUF LoRA adapter `lora` applied at run time (llama.cpp's
/// `--lora`; see [`crate::lora`]); a problem with the adapter is an input error naming it.
pub fn load_with_lora(path: &Path, lora: Option<&Path>, threads: usize) -> Result<LoadedModel> {
    let file = Arc::new(GgufFile::open(path)?);
    let as_input = |e: anyhow::Error| InputError::file(path, format!("{e:#}"));
    let md = file.metadata();
    let arch =
        architecture_from_metadata(md).map_err(|e| match e.downcast_ref::<BadParameter>() {
            Some(bad) => InputError::file(path, &bad.message).with_field(bad.key),
            None => as_input(e),
        })?;
    let tokenizer = ChatTokenizer::from_gguf(md).map_err(as_input)?;
    let eos = md
        .optional("tokenizer.ggml.eos_token_id", Metadata::u32)
        .map_err(|e| as_input(e.into()))?;
    let weights = ModelWeights::from_source(
        Arc::new(MappedBytes(file.clone())),
        arch.layers(),
        file.as_ref(),
    )
    .map_err(as_input)?;
    let adapter = match lora {
        Some(lora) => Some(LoraAdapter::open(
            lora,
            md.str("general.architecture")?,
            &weights,
            1.0,
        )?),
        None => None,
    };
    let mut model = Model::new(arch, weights, threads, Isa::detect()).map_err(as_input)?;
    if let Some(adapter) = adapter {
        model = model.with_lora(adapter)?;
    }
    Ok(LoadedModel {
        file,
        model: Arc::new(model),
        tokenizer,
        eos,
        lora: lora.map(Path::to_path_buf),
    })
}
