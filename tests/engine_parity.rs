//! Parity of the native engine with llama.cpp on tiny GGUFs written by
//! `okla-eval gguf tiny` (the same bytes llama.cpp ran): identical prompt token ids
//! from the GGUF vocabulary, identical greedy continuations of 64 tokens for all 20
//! prompts, logits equal to llama.cpp's (see `src/engine/mod.rs`, "Parity").
//! Vectors: tests/data/engine/parity_*.json, made by scripts/reference/parity_reference.py
//! from the GGUFs that `tests/common` writes with `TinySpec::write_gguf`, the code
//! behind `okla-eval gguf tiny` (deterministic; the recorded sha256 catches a change).

mod common;

use std::path::Path;

use okla_engine::loader::load;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Largest accepted |logit difference| on the top-8 ids of every step. The engine
/// reproduces llama.cpp's CPU arithmetic bit for bit on these models (measured max
/// difference 0); the margin only absorbs a libm whose `sinf`/`cosf` rounds
/// differently on another machine.
const LOGIT_TOLERANCE: f32 = 1e-3;

fn sha256(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs every case the way llama-cpp-python did (the prompt in one batch, then one
/// token per step, fed llama.cpp's own greedy token) and asserts identical greedy
/// tokens on all steps of all cases and logits within [`LOGIT_TOLERANCE`].
fn check_parity(gguf: &Path, vectors: &str) {
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(vectors).unwrap()).unwrap();
    assert_eq!(
        reference["model_sha256"].as_str().unwrap(),
        sha256(gguf),
        "the tiny GGUF writer changed: regenerate {vectors} with scripts/reference/parity_reference.py"
    );
    let loaded = load(gguf, 2).unwrap();
    let tokenizer = &loaded.tokenizer;
    let model = &loaded.model;
    let cases = reference["cases"].as_array().unwrap();
    let (mut worst, mut identical_cases, mut steps) = (0.0f32, 0, 0);
    for (c, case) in cases.iter().enumerate() {
        let ids: Vec<u32> = serde_json::from_value(case["ids"].clone()).unwrap();
        let greedy: Vec<u32> = serde_json::from_value(case["greedy"].clone()).unwrap();
        let ours = tokenizer.encode(case["text"].as_str().unwrap()).unwrap();
        assert_eq!(ours, ids, "case {c}: prompt token ids");
        let mut cache = model.new_cache();
        let mut logits = model.forward(&mut cache, &ids, &[ids.len() - 1]).unwrap();
        let mut diverged = None;
        for (step, top) in case["top"].as_array().unwrap().iter().enumerate() {
            for entry in top.as_array().unwrap() {
                let id = entry[0].as_u64().unwrap() as usize;
                worst = worst.max((logits[id] - entry[1].as_f64().unwrap() as f32).abs());
            }
            if diverged.is_none() && okla_engine::sampler::argmax(&logits) != greedy[step] {
                diverged = Some(step);
            }
            steps += 1;
            if step + 1 < greedy.len() {
                logits = model.forward(&mut cache, &[greedy[step]], &[0]).unwrap();
            }
        }
        if let Some(step) = diverged {
            eprintln!("case {c}: greedy token differs at step {step}");
        }
        identical_cases += usize::from(diverged.is_none());
    }
    eprintln!(
        "{vectors}: {identical_cases}/{} continuations identical, {steps} steps, \
         max |logit difference| over top-8 ids = {worst}",
        cases.len()
    );
    assert_eq!(
        identical_cases,
        cases.len(),
        "greedy tokens differ from llama.cpp"
    );
    assert!(
        worst <= LOGIT_TOLERANCE,
        "max logit difference {worst} > {LOGIT_TOLERANCE}"
    );
}

#[test]
fn mid_q4_k_m_matches_llama_cpp() {
    check_parity(&common::mid_q4_k_m(), "tests/data/engine/parity_mid.json");
}

#[test]
fn tiny_q4_k_m_matches_llama_cpp() {
    check_parity(&common::tiny_q4_k_m(), "tests/data/engine/parity_tiny.json");
}
