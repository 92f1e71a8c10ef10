//! `okla-eval train`: bad recipes are input errors (exit 2) naming file, line and field.
#![cfg(feature = "train")]

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

mod common;
use common::tiny_hf_model;

fn train(args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("okla-eval")
        .unwrap()
        .arg("train")
        .args(args)
        .assert()
}

#[test]
fn unknown_field_in_the_config_exits_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.toml");
    std::fs::write(&path, "epochs = 3\nlearning_rat = 2e-4\n").unwrap();
    train(&["--config", path.to_str().unwrap()]).code(2).stderr(
        contains("train.toml")
            .and(contains("2"))
            .and(contains("learning_rat")),
    );
}

#[test]
fn bad_values_and_missing_inputs_exit_2_naming_the_field() {
    train(&["--lora-dropout", "1.5"])
        .code(2)
        .stderr(contains("lora_dropout"));
    train(&["--dtype", "fp8"]).code(2).stderr(contains("dtype"));
    train(&["--train-file", "x.jsonl"])
        .code(2)
        .stderr(contains("model"));
    let dir = tempfile::tempdir().unwrap();
    train(&[
        "--model",
        dir.path().to_str().unwrap(),
        "--train-file",
        "missing.jsonl",
    ])
    .code(2)
    .stderr(contains("tokenizer.json").or(contains("missing.jsonl")));
}

#[test]
fn an_unsupported_architecture_exits_2_naming_config_json_and_model_type() {
    let dir = tempfile::tempdir().unwrap();
    tiny_hf_model(dir.path());
    let config = dir.path().join("config.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    json["model_type"] = "qwen2".into();
    std::fs::write(&config, json.to_string()).unwrap();
    train(&[
        "--model",
        dir.path().to_str().unwrap(),
        "--train-file",
        "suites/okla/okla_eval.jsonl",
        "--output-dir",
        dir.path().join("run").to_str().unwrap(),
    ])
    .code(2)
    .stderr(
        contains("config.json")
            .and(contains("model_type"))
            .and(contains("qwen2")),
    );
}

#[test]
fn kill_9_during_training_leaves_a_checkpoint_that_resumes_to_the_end() {
    use okla_train::checkpoint::{latest_checkpoint, read_state};
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    tiny_hf_model(&model);
    let data = dir.path().join("train.jsonl");
    let line = |u: &str, a: &str| {
        serde_json::json!({"messages": [
            {"role": "system", "content": "Eres el asistente de OKLA."},
            {"role": "user", "content": u},
            {"role": "assistant", "content": a}]})
        .to_string()
    };
    let lines = [
        line(
            "klk",
            r#"{"response":"Klk!","intent":"Greeting","confidence":0.9,"isFallback":false}"#,
        ),
        line(
            "bye",
            r#"{"response":"Tato","intent":"Farewell","confidence":0.9,"isFallback":false}"#,
        ),
    ];
    std::fs::write(&data, lines.join("\n")).unwrap();
    let run = dir.path().join("run");
    let args = [
        "train",
        "--model",
        model.to_str().unwrap(),
        "--train-file",
        data.to_str().unwrap(),
        "--output-dir",
        run.to_str().unwrap(),
        "--max-steps",
        "12",
        "--save-every",
        "1",
        "--micro-batch-size",
        "1",
        "--grad-accum",
        "1",
        "--dtype",
        "f32",
        "--device",
        "cpu",
        "--lora-r",
        "4",
    ];
    let bin = assert_cmd::cargo::cargo_bin("okla-eval");
    let mut child = std::process::Command::new(&bin)
        .args(args)
        .env("OMP_NUM_THREADS", "1")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let root = run.join("checkpoints");
    let started = std::time::Instant::now();
    while latest_checkpoint(&root).is_none_or(|(s, _)| s < 3) {
        assert!(started.elapsed().as_secs() < 120, "no checkpoint appeared");
        assert!(
            child.try_wait().unwrap().is_none(),
            "training ended before it could be killed"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL, wherever it is (often mid-checkpoint: one is written every step)
    child.wait().unwrap();
    let (step, latest) = latest_checkpoint(&root).unwrap();
    assert_eq!(read_state(&latest).unwrap().step, step);
    Command::new(&bin)
        .args(args)
        .env("OMP_NUM_THREADS", "1")
        .arg("--resume")
        .assert()
        .success()
        .stderr(contains("resumed from"));
    assert_eq!(latest_checkpoint(&root).unwrap().0, 12);
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let steps: Vec<u64> = metrics
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("loss").is_some())
        .map(|v| v["step"].as_u64().unwrap())
        .collect();
    assert_eq!(
        steps,
        (1..=12).collect::<Vec<_>>(),
        "every step logged exactly once"
    );
    assert!(run.join("adapter/adapter_model.safetensors").is_file());
}
