//! A suite's `default_model`: `gate` with no model, endpoint or predictions runs it
//! on the native engine; a missing one is an input error naming the field.

mod common;

use std::path::Path;

use assert_cmd::Command;
use predicates::str::contains;

/// A suite folder over the mini cases whose default model is `model`.
fn suite_with_default_model(dir: &Path, model: &Path) {
    let root = env!("CARGO_MANIFEST_DIR");
    let toml = format!(
        r#"name = "default-model"
cases = ["{root}/tests/fixtures/mini/cases.jsonl"]
schema = "{root}/suites/okla/response.schema.json"
default_model = "{}"

[decoding]
max_new_tokens = 4

[thresholds]
json_valid = {{ min = 0.0 }}
"#,
        model.display()
    );
    std::fs::write(dir.join("suite.toml"), toml).unwrap();
}

#[test]
fn gate_without_a_model_runs_the_suites_default_model() {
    let dir = tempfile::tempdir().unwrap();
    suite_with_default_model(dir.path(), &common::tiny_q4_k_m());
    let run = dir.path().join("run");
    Command::cargo_bin("okla-eval")
        .unwrap()
        .args(["gate", "--threads", "2", "--suite"])
        .arg(dir.path())
        .arg("--run-dir")
        .arg(&run)
        .assert()
        .success()
        .stderr(contains("default model"));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["meta"]["backend"]["kind"], "gguf", "{report}");
}

#[test]
fn a_missing_default_model_is_an_input_error_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    suite_with_default_model(dir.path(), &dir.path().join("absent.gguf"));
    Command::cargo_bin("okla-eval")
        .unwrap()
        .args(["gate", "--suite"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(contains("default_model"));
}
