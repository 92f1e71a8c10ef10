//! `okla-eval train`: bad recipes are input errors (exit 2) naming file, line and field.
#![cfg(feature = "train")]

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

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
