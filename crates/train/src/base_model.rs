//! The base model a run starts from: its architecture, weights under Hugging Face
//! names and tokenizer, read from a HF folder or a llama.cpp GGUF file.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Result;
use tch::Tensor;

use super::adapter::load_model_weights;
use super::config::{Architecture, HfConfig};
use super::gguf_model::load_gguf_base;
use okla_text::ChatTokenizer;

/// What [`super::model::CausalLm::from_weights`] and the data encoding need.
pub struct BaseModel {
    /// The architecture.
    pub config: HfConfig,
    /// CPU tensors under HF names (empty when loaded without weights).
    pub weights: HashMap<String, Tensor>,
    /// The tokenizer and its chat template (Llama 3 or Gemma 3).
    pub tokenizer: ChatTokenizer,
}

/// The text model's weights of a multimodal Gemma 3 checkpoint
/// (`Gemma3ForConditionalGeneration`) under `Gemma3ForCausalLM` names:
/// `language_model.model.*` (transformers 4) and `model.language_model.*`
/// (transformers 5) become `model.*`, `language_model.lm_head.weight` becomes
/// `lm_head.weight`; the vision tower and the projector are left out. Other names
/// pass unchanged.
fn text_model_weights(weights: HashMap<String, Tensor>) -> HashMap<String, Tensor> {
    const RENAMES: [(&str, &str); 3] = [
        ("language_model.model.", "model."),
        ("model.language_model.", "model."),
        ("language_model.lm_head.", "lm_head."),
    ];
    weights
        .into_iter()
        .filter(|(name, _)| {
            !name.contains("vision_tower") && !name.contains("multi_modal_projector")
        })
        .map(|(name, t)| {
            let renamed = RENAMES
                .iter()
                .find_map(|(from, to)| name.strip_prefix(from).map(|rest| format!("{to}{rest}")));
            (renamed.unwrap_or(name), t)
        })
        .collect()
}

/// Load `path`: a `.gguf` file (tokenizer from its metadata) or a HF folder
/// (`config.json`, safetensors, `tokenizer.json`, `tokenizer_config.json`; a
/// multimodal Gemma 3 checkpoint gives its text model); without `weights` only the
/// architecture and tokenizer (training from scratch). An architecture the trainer
/// does not run is an input error naming the file (exit code 2).
pub fn load_base_model(path: &Path, weights: bool) -> Result<BaseModel> {
    if path.is_file() && path.extension().is_some_and(|e| e == "gguf") {
        return load_gguf_base(path, weights);
    }
    let config = HfConfig::load(&path.join("config.json"))?;
    let tokenizer = ChatTokenizer::from_dir(path)?;
    let weights = match (weights, config.architecture()) {
        (false, _) => HashMap::new(),
        (true, Ok(Architecture::Gemma3)) => text_model_weights(load_model_weights(path)?),
        (true, _) => load_model_weights(path)?,
    };
    Ok(BaseModel {
        config,
        weights,
        tokenizer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multimodal_gemma3_checkpoint_gives_its_text_model_under_causal_lm_names() {
        let names = [
            "language_model.model.layers.0.self_attn.q_proj.weight",
            "model.language_model.norm.weight",
            "language_model.lm_head.weight",
            "vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight",
            "model.multi_modal_projector.mm_input_projection_weight",
            "model.embed_tokens.weight",
        ];
        let weights = names
            .iter()
            .map(|n| (n.to_string(), Tensor::zeros([1], tch::kind::FLOAT_CPU)))
            .collect();
        let mut got: Vec<String> = text_model_weights(weights).into_keys().collect();
        got.sort();
        assert_eq!(
            got,
            [
                "lm_head.weight",
                "model.embed_tokens.weight",
                "model.layers.0.self_attn.q_proj.weight",
                "model.norm.weight"
            ]
        );
    }
}
