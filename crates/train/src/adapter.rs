//! Model files in the layouts Hugging Face tools read: LoRA adapters as peft
//! writes them (`adapter_config.json` + `adapter_model.safetensors`, keys like
//! `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`) and full
//! models as `config.json` + `model.safetensors`.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::json;
use tch::{Device, Tensor};

use super::config::HfConfig;
use super::lora::LoraSettings;
use okla_formats::atomic::write_atomic;
use okla_formats::error::InputError;

/// File name of the adapter weights.
pub const ADAPTER_WEIGHTS: &str = "adapter_model.safetensors";
/// File name of the adapter config.
pub const ADAPTER_CONFIG: &str = "adapter_config.json";
/// File name of full-model weights.
pub const MODEL_WEIGHTS: &str = "model.safetensors";

/// Write named tensors (moved to the CPU) as a safetensors file.
pub fn write_tensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<()> {
    let cpu: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(n, t)| (n.clone(), t.detach().to_device(Device::Cpu).contiguous()))
        .collect();
    Tensor::write_safetensors(&cpu, path).with_context(|| format!("writing {}", path.display()))
}

/// Read a safetensors file into a name → tensor map.
pub fn read_tensors(path: &Path) -> Result<HashMap<String, Tensor>> {
    let list = Tensor::read_safetensors(path)
        .map_err(|e| InputError::file(path, format!("not a readable safetensors file: {e}")))?;
    Ok(list.into_iter().collect())
}

/// Write a peft adapter (config + weights) into `dir`.
pub fn save_adapter(
    dir: &Path,
    adapters: &[(String, Tensor)],
    lora: &LoraSettings,
    base_model: &str,
) -> Result<()> {
    let config = json!({
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base_model,
        "r": lora.r,
        "lora_alpha": lora.alpha,
        "lora_dropout": lora.dropout,
        "target_modules": lora.targets,
        "bias": "none",
        "fan_in_fan_out": false,
        "inference_mode": true,
        "init_lora_weights": true,
        "modules_to_save": null,
        "use_rslora": false,
        "use_dora": false,
        "layers_to_transform": null,
        "layers_pattern": null,
        "rank_pattern": {},
        "alpha_pattern": {},
        "revision": null
    });
    write_atomic(
        &dir.join(ADAPTER_CONFIG),
        serde_json::to_string_pretty(&config)?.as_bytes(),
    )?;
    write_tensors(&dir.join(ADAPTER_WEIGHTS), adapters)
}

/// Read a peft adapter's settings and weights from `dir`.
pub fn load_adapter(dir: &Path) -> Result<(LoraSettings, HashMap<String, Tensor>)> {
    let cfg_path = dir.join(ADAPTER_CONFIG);
    let text = std::fs::read_to_string(&cfg_path)
        .map_err(|e| InputError::file(&cfg_path, format!("cannot read: {e}")))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| InputError::at(&cfg_path, e.line(), None, e.to_string()))?;
    let field = |name: &str| {
        v.get(name)
            .ok_or_else(|| InputError::file(&cfg_path, "missing field").with_field(name))
    };
    let targets = match field("target_modules")? {
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        serde_json::Value::String(s) => vec![s.clone()],
        _ => {
            return Err(
                InputError::file(&cfg_path, "must be a list of module names")
                    .with_field("target_modules")
                    .into(),
            )
        }
    };
    let number = |name: &str| -> Result<f64> {
        field(name)?.as_f64().ok_or_else(|| {
            InputError::file(&cfg_path, "must be a number")
                .with_field(name)
                .into()
        })
    };
    let settings = LoraSettings {
        r: number("r")? as i64,
        alpha: number("lora_alpha")?,
        dropout: number("lora_dropout").unwrap_or(0.0),
        targets,
    };
    Ok((settings, read_tensors(&dir.join(ADAPTER_WEIGHTS))?))
}

/// Write a full model (HF `config.json` + `model.safetensors`) into `dir`.
pub fn save_full_model(dir: &Path, config: &HfConfig, weights: &[(String, Tensor)]) -> Result<()> {
    write_atomic(
        &dir.join("config.json"),
        serde_json::to_string_pretty(config)?.as_bytes(),
    )?;
    write_tensors(&dir.join(MODEL_WEIGHTS), weights)
}
