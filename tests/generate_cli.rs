//! `okla-eval generate`: a raw greedy completion on the native engine. On the real
//! Gemma 3 270M it continues a text with llama.cpp's own greedy tokens; an unsupported
//! architecture and an empty prompt exit 2.

mod common;

use assert_cmd::Command;
use okla_formats::gguf::{restamp, Value};
use predicates::prelude::*;
use serde_json::Value as Json;

fn okla() -> Command {
    Command::cargo_bin("okla-eval").unwrap()
}

/// llama.cpp's greedy continuation (llama-cpp-python 0.3.36, plain kernels, argmax of
/// its logits) of "The capital of France is" on Gemma 3 270M Q4_K_M, 24 tokens.
const LLAMA_CPP_GREEDY: [u64; 24] = [
    506, 5279, 529, 506, 2891, 529, 7001, 236761, 1030, 563, 506, 7488, 3207, 528, 7001, 236761,
    1030, 563, 506, 5279, 529, 506, 2891, 529,
];

#[test]
fn gemma_continues_a_text_with_llama_cpps_greedy_tokens() {
    let Some(gemma) = common::gemma_q4_k_m() else {
        return;
    };
    let out = okla()
        .arg("generate")
        .arg(&gemma)
        .args(["--prompt", "The capital of France is", "-n", "24", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: Json = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        report["prompt_ids"],
        serde_json::json!([2, 818, 5279, 529, 7001, 563])
    );
    assert_eq!(report["ids"], serde_json::json!(LLAMA_CPP_GREEDY));
    assert_eq!(report["finish"], "length");
    assert!(report["text"]
        .as_str()
        .unwrap()
        .starts_with(" the capital of the country of France."));
}

#[test]
fn an_unsupported_architecture_and_an_empty_prompt_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let qwen = dir.path().join("qwen.gguf");
    let arch = (
        "general.architecture".to_string(),
        Value::String("qwen2".into()),
    );
    restamp(&common::tiny_q4_k_m(), &qwen, &[arch]).unwrap();
    okla()
        .arg("generate")
        .arg(&qwen)
        .args(["--prompt", "hola"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("qwen.gguf").and(predicate::str::contains(
                "general.architecture is \"qwen2\"",
            )),
        );
    // The tiny Llama adds no BOS, so an empty text has no tokens.
    okla()
        .arg("generate")
        .arg(common::tiny_q4_k_m())
        .args(["--prompt", ""])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("the prompt has no tokens"));
}
