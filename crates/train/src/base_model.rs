//! The base model a run starts from: its architecture, weights under Hugging Face
//! names and tokenizer, read from a HF folder or a llama.cpp GGUF file.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Result;
use tch::Tensor;

use super::adapter::load_model_weights;
use super::config::HfConfig;
use super::gguf_model::load_gguf_base;
use okla_text::ChatTokenizer;

/// What [`super::model::CausalLm::from_weights`] and the data encoding need.
pub struct BaseModel {
    /// The architecture.
    pub config: HfConfig,
    /// CPU tensors under HF names (empty when loaded without weights).
    pub weights: HashMap<String, Tensor>,
    /// The tokenizer and Llama 3 chat template.
    pub tokenizer: ChatTokenizer,
}

/// Load `path`: a `.gguf` file (tokenizer from its metadata) or a HF folder
/// (`config.json`, safetensors, `tokenizer.json`, `tokenizer_config.json`);
/// without `weights` only the architecture and tokenizer (training from scratch).
pub fn load_base_model(path: &Path, weights: bool) -> Result<BaseModel> {
    if path.is_file() && path.extension().is_some_and(|e| e == "gguf") {
        return load_gguf_base(path, weights);
    }
    Ok(BaseModel {
        config: HfConfig::load(&path.join("config.json"))?,
        tokenizer: ChatTokenizer::from_dir(path)?,
        weights: if weights {
            load_model_weights(path)?
        } else {
            HashMap::new()
        },
    })
}
