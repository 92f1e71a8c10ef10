//! Train → gate → export on CPU: a few LoRA steps on a tiny random Llama, then
//! `train --export` is refused by a strict suite (nothing written but the report),
//! `export --force` writes a file the native engine loads and runs, and a lenient
//! suite lets the export through with its verdict in the GGUF metadata.
#![cfg(feature = "train")]

mod common;

use assert_cmd::Command;
use okla_formats::gguf::GgufFile;
use okla_harness::backend::gguf::GgufBackend;
use okla_harness::backend::{Backend, Prompt};
use okla_harness::suite::{Decoding, Message, Role};

fn okla(args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("okla-eval").unwrap().args(args).assert()
}

#[test]
fn a_trained_adapter_is_refused_forced_and_passed_through_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    common::tiny_hf_model(&model);
    let run = dir.path().join("run");
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let (model_s, run_s) = (s(&model), s(&run));
    okla(&[
        "train",
        "--model",
        &model_s,
        "--train-file",
        "tests/fixtures/mini/cases.jsonl",
        "--output-dir",
        &run_s,
        "--method",
        "lora",
        "--lora-r",
        "4",
        "--max-steps",
        "2",
        "--micro-batch-size",
        "2",
        "--grad-accum",
        "1",
        "--dtype",
        "f32",
        "--device",
        "cpu",
        "--export",
        "q8_0",
        "--export-suite",
        "tests/fixtures/export-strict",
    ])
    .code(1);
    assert!(run.join("adapter/adapter_model.safetensors").is_file());
    assert!(
        !run.join("model-q8_0.gguf").exists(),
        "a refused export wrote its file"
    );
    assert!(run.join("export-gate/report.json").is_file());

    let forced = dir.path().join("forced.gguf");
    okla(&[
        "export",
        "--run",
        &run_s,
        "--type",
        "q8_0",
        "--force",
        "--out",
        &s(&forced),
    ])
    .success();
    let file = GgufFile::open(&forced).unwrap();
    assert_eq!(file.metadata().str("okla.gate").unwrap(), "skipped");
    assert_eq!(file.metadata().str("okla.run_id").unwrap(), "run");
    let mut engine = GgufBackend::open(&forced, 2).unwrap();
    let messages = [Message {
        role: Role::User,
        content: "klk".into(),
    }];
    let prompt = Prompt {
        case_id: "a",
        messages: &messages,
    };
    let decoding = Decoding {
        max_new_tokens: 4,
        ..Decoding::default()
    };
    let answers = engine
        .generate(&[prompt], &decoding, &|_, _| Ok(()))
        .unwrap();
    assert!(answers[0].error.is_none(), "{:?}", answers[0]);
    assert!(answers[0].completion_tokens.unwrap() >= 1);

    let passed = dir.path().join("passed.gguf");
    okla(&[
        "export",
        "--run",
        &run_s,
        "--type",
        "q8_0",
        "--suite",
        "tests/fixtures/export-lenient",
        "--out",
        &s(&passed),
    ])
    .success();
    let file = GgufFile::open(&passed).unwrap();
    assert_eq!(file.metadata().str("okla.gate").unwrap(), "pass");
    assert!(file
        .metadata()
        .str("okla.gate_metrics")
        .unwrap()
        .contains("eval_loss"));
}
