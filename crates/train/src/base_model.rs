//! The base model a run starts from: its architecture, tokenizer and a source of
//! its weights under Hugging Face names, read from a HF folder or a llama.cpp GGUF
//! file (the weights one tensor at a time: [`BaseWeights`]).

use std::collections::HashMap;
use std::path::Path;

use anyhow::Result;

use super::config::HfConfig;
use super::gguf_model::load_gguf_base;
use super::weight_source::BaseWeights;
use okla_text::ChatTokenizer;

/// What [`super::model::CausalLm::from_source`] and the data encoding need.
pub struct BaseModel {
    /// The architecture.
    pub config: HfConfig,
    /// The weights, read when the model asks for them (none when loaded without).
    pub weights: BaseWeights,
    /// The tokenizer and its chat template (Llama 3 or Gemma 3).
    pub tokenizer: ChatTokenizer,
}

/// Open `path`: a `.gguf` file (tokenizer from its metadata) or a HF folder
/// (`config.json`, safetensors, `tokenizer.json`, `tokenizer_config.json`; a
/// multimodal Gemma 3 checkpoint gives its text model); without `weights` only the
/// architecture and tokenizer (training from scratch). No tensor data is read here.
/// An architecture the trainer does not run is an input error naming the file
/// (exit code 2).
pub fn load_base_model(path: &Path, weights: bool) -> Result<BaseModel> {
    if path.is_file() && path.extension().is_some_and(|e| e == "gguf") {
        return load_gguf_base(path, weights);
    }
    let config = HfConfig::load(&path.join("config.json"))?;
    let tokenizer = ChatTokenizer::from_dir(path)?;
    let weights = match weights {
        false => BaseWeights::Memory(HashMap::new()),
        true => BaseWeights::open_folder(path)?,
    };
    Ok(BaseModel {
        config,
        weights,
        tokenizer,
    })
}
