//! A suite's `default_model` (and `default_lora`): `gate` with no model, endpoint or
//! predictions runs it on the native engine, with the adapter applied at run time; a
//! missing one is an input error naming the field.

mod common;

use std::path::Path;

use assert_cmd::Command;
use predicates::str::contains;

/// A suite folder over the mini cases whose default model is `model`.
fn suite_with_default_model(dir: &Path, model: &Path) {
    suite_with_defaults(dir, model, None);
}

/// A suite folder over the mini cases whose default model is `model` with `lora`.
fn suite_with_defaults(dir: &Path, model: &Path, lora: Option<&Path>) {
    let root = env!("CARGO_MANIFEST_DIR");
    let toml = format!(
        r#"name = "default-model"
cases = ["{root}/tests/fixtures/mini/cases.jsonl"]
schema = "{root}/suites/okla/response.schema.json"
default_model = "{}"
{}

[decoding]
max_new_tokens = 4

[thresholds]
json_valid = {{ min = 0.0 }}
"#,
        model.display(),
        lora.map(|l| format!("default_lora = \"{}\"", l.display()))
            .unwrap_or_default()
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

/// The suite's default LoRA (an adapter on one value projection of the tiny model,
/// written by `export --as-lora`) runs with its base, and the run is recorded under
/// the hash of both files; a missing one is an input error naming `default_lora`.
#[test]
fn the_suites_default_lora_runs_on_its_default_model() {
    let dir = tempfile::tempdir().unwrap();
    let base = common::tiny_q4_k_m();
    let adapter = dir.path().join("adapter");
    let (r, cols, rows) = (2, 256, 128);
    let a: Vec<f32> = (0..r * cols)
        .map(|i| (i % 7) as f32 / 20.0 - 0.15)
        .collect();
    let b: Vec<f32> = (0..rows * r).map(|i| (i % 5) as f32 / 10.0 - 0.2).collect();
    common::write_lora_adapter(
        &adapter,
        "model.layers.0.self_attn.v_proj",
        (&a, &b),
        (r, cols, rows),
        4.0,
    );
    let lora = dir.path().join("lora.gguf");
    Command::cargo_bin("okla-eval")
        .unwrap()
        .args(["export", "--force", "--as-lora", "--base"])
        .arg(&base)
        .arg("--adapter")
        .arg(&adapter)
        .arg("--out")
        .arg(&lora)
        .assert()
        .success();
    suite_with_defaults(dir.path(), &base, Some(&lora));
    let gate = |run: &Path, extra: &[&str]| {
        Command::cargo_bin("okla-eval")
            .unwrap()
            .args(["gate", "--threads", "2", "--suite"])
            .arg(dir.path())
            .arg("--run-dir")
            .arg(run)
            .args(extra)
            .assert()
    };
    let run = dir.path().join("run");
    gate(&run, &[])
        .success()
        .stderr(contains("with its LoRA"))
        .stderr(contains("lora.gguf"));
    let report = |run: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(run.join("report.json")).unwrap()).unwrap()
    };
    let plain = dir.path().join("plain");
    gate(&plain, &["--model", base.to_str().unwrap()]).success();
    let (with_lora, without) = (report(&run), report(&plain));
    assert_ne!(
        with_lora["meta"]["backend"]["model_sha256"], without["meta"]["backend"]["model_sha256"],
        "base + adapter is another model than the base"
    );
    assert!(
        with_lora["meta"]["backend"]["details"]["lora"]
            .as_str()
            .is_some_and(|l| l.ends_with("lora.gguf")),
        "{with_lora}"
    );

    suite_with_defaults(dir.path(), &base, Some(&dir.path().join("absent.gguf")));
    gate(&dir.path().join("missing"), &[])
        .code(2)
        .stderr(contains("default_lora"));
    // --lora needs the native engine.
    Command::cargo_bin("okla-eval")
        .unwrap()
        .args(["gate", "--predictions", "x.jsonl", "--lora"])
        .arg(&lora)
        .assert()
        .code(2)
        .stderr(contains("--lora"));
}
