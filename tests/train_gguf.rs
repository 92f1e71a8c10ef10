//! The trainer reads a llama.cpp GGUF as its base model (feature `train`): the
//! logits of the trainer's HF-layout model equal the native CPU engine's on the
//! same file, which holds only if names, shapes, the Q/K row permutation, RoPE and
//! the metadata-derived configuration all match.
#![cfg(feature = "train")]

use std::collections::HashMap;
use std::path::PathBuf;

use okla_engine::loader::load;
use okla_engine::tiny::TinySpec;
use okla_formats::gguf::llama_names::{permute_for_gguf, permuted_heads};
use okla_formats::gguf::FileType;
use okla_text::ChatTokenizer;
use okla_train::base_model::{load_base_model, BaseModel};
use okla_train::config::HfConfig;
use okla_train::lora::LoraSettings;
use okla_train::model::{CausalLm, Method};
use tch::{Device, Kind, Tensor};

const PROMPT: &str = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n¿Tienen una Toyota RAV4 2019 en Santiago?<|eot_id|>";

fn spec() -> TinySpec {
    TinySpec {
        dim: 64,
        layers: 2,
        heads: 4,
        kv_heads: 2,
        ff: 128,
        ..TinySpec::default()
    }
}

/// A tiny F32 GGUF in a temporary folder, the prompt's ids and the engine's
/// logits at every position.
fn engine_reference() -> (tempfile::TempDir, PathBuf, Vec<u32>, Vec<f32>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.gguf");
    spec().write_gguf(&path, FileType::F32).unwrap();
    let engine = load(&path, 1).unwrap();
    let ids = ChatTokenizer::llama3().unwrap().encode(PROMPT).unwrap();
    let positions: Vec<usize> = (0..ids.len()).collect();
    let logits = engine
        .model
        .forward(&mut engine.model.new_cache(), &ids, &positions)
        .unwrap();
    (dir, path, ids, logits)
}

/// The trainer's f32 logits `[t, vocab]` for `ids`.
fn trainer_logits(base: BaseModel, ids: &[u32]) -> Vec<f32> {
    logits_of(base.config, base.weights.into_map().unwrap(), ids)
}

/// The trainer's f32 logits `[t, vocab]` for `ids` from `weights` of shape `config`.
fn logits_of(config: HfConfig, weights: HashMap<String, Tensor>, ids: &[u32]) -> Vec<f32> {
    let model = CausalLm::from_weights(
        config,
        weights,
        Method::Full,
        &LoraSettings::default(),
        Kind::Float,
        Device::Cpu,
    )
    .unwrap();
    let ids: Vec<i64> = ids.iter().map(|&t| t as i64).collect();
    let logits = model.logits(&Tensor::from_slice(&ids).unsqueeze(0));
    Vec::<f32>::try_from(logits.reshape([-1])).unwrap()
}

/// max |a − b| / max |b|.
fn relative_max_error(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
    diff / scale
}

#[test]
fn a_gguf_base_model_gives_the_engines_logits() {
    let (_dir, path, ids, expected) = engine_reference();
    let base = load_base_model(&path, true).unwrap();
    assert_eq!(base.config.vocab_size, 128_256);
    assert_eq!(base.config.kv_heads(), 2);
    assert_eq!(base.config.rms_norm_eps, 1e-5);
    assert_eq!(base.config.theta(), 500_000.0);
    assert!(!base.config.tie_word_embeddings);
    assert_eq!(
        base.tokenizer.encode(PROMPT).unwrap(),
        ids,
        "the tokenizer from the GGUF metadata must match Llama 3's"
    );
    let ours = trainer_logits(base, &ids);
    let err = relative_max_error(&ours, &expected);
    // the engine keeps keys and values in f16 (as llama.cpp does by default): that
    // rounding alone moves the logits by a few 1e-4 of their range
    assert!(err < 2e-3, "logits differ from the engine's: {err}");
    eprintln!("relative max error vs the engine: {err}");
}

#[test]
fn without_undoing_the_permutation_the_logits_differ() {
    let (_dir, path, ids, expected) = engine_reference();
    let base = load_base_model(&path, true).unwrap();
    let (heads, kv) = (4, 2);
    let mut weights = base.weights.into_map().unwrap();
    for (name, tensor) in weights.iter_mut() {
        if let Some(h) = permuted_heads(name, heads, kv) {
            let cols = tensor.size()[1] as usize;
            let data = Vec::<f32>::try_from(tensor.reshape([-1])).unwrap();
            let back = permute_for_gguf(&data, cols, h).unwrap();
            *tensor = Tensor::from_slice(&back).reshape(tensor.size());
        }
    }
    let err = relative_max_error(&logits_of(base.config, weights, &ids), &expected);
    eprintln!("relative max error without the permutation undone: {err}");
    assert!(err > 2e-2, "a wrong row order must show: {err}");
}

#[test]
fn a_file_that_is_not_a_llama_gguf_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.gguf");
    std::fs::write(&path, b"GGUF but not really").unwrap();
    let err = load_base_model(&path, true).err().unwrap();
    assert!(format!("{err:#}").contains("bad.gguf"), "{err:#}");
}
