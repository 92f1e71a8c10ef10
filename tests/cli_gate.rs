//! The gate and compare commands end to end: exit codes 0/1/2, error messages for
//! broken input, the run folder's files, and golden regressions caught.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

const MINI: &str = "tests/fixtures/mini";

fn okla() -> Command {
    Command::cargo_bin("okla-eval").unwrap()
}

/// Copy the mini suite into a temp dir so a test can break one file of it.
fn mini_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["suite.toml", "cases.jsonl", "predictions.jsonl"] {
        fs::copy(Path::new(MINI).join(f), dir.path().join(f)).unwrap();
    }
    let okla = fs::canonicalize("suites/okla").unwrap();
    let toml = fs::read_to_string(dir.path().join("suite.toml")).unwrap();
    let toml = toml.replace(
        "../../../suites/okla/",
        &format!("{}/", okla.to_str().unwrap()),
    );
    fs::write(dir.path().join("suite.toml"), toml).unwrap();
    dir
}

/// The mini suite's reference answers written as a predictions file in `dir`.
fn reference_predictions(dir: &Path) -> std::path::PathBuf {
    let preds = dir.join("ref.jsonl");
    okla()
        .args(["suite", "reference", MINI, "--out"])
        .arg(&preds)
        .assert()
        .code(0);
    preds
}

fn gate(suite: &Path, predictions: &Path, run_dir: &Path) -> Command {
    let mut cmd = okla();
    cmd.env("NO_COLOR", "1")
        .args(["gate", "--suite"])
        .arg(suite)
        .arg("--predictions")
        .arg(predictions)
        .arg("--run-dir")
        .arg(run_dir);
    cmd
}

#[test]
fn failing_gate_exits_1_and_writes_every_report() {
    let out = tempfile::tempdir().unwrap();
    let run = out.path().join("run");
    gate(
        Path::new(MINI),
        &Path::new(MINI).join("predictions.jsonl"),
        &run,
    )
    .assert()
    .code(1)
    .stdout(predicate::str::contains("GATE FAIL"))
    .stdout(predicate::str::contains("trailing_text"));
    for f in [
        "report.json",
        "predictions.jsonl",
        "metrics.csv",
        "junit.xml",
        "summary.md",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
}

#[test]
fn thresholds_overridden_to_pass_exit_0_and_warnings_still_exit_0() {
    let out = tempfile::tempdir().unwrap();
    gate(
        Path::new(MINI),
        &Path::new(MINI).join("predictions.jsonl"),
        &out.path().join("run"),
    )
    .args([
        "--threshold",
        "json_valid=min:0.5:critical",
        "--threshold",
        "fields_complete=min:0.5",
    ])
    .args(["--threshold", "price_grounding=min:0.5:critical"])
    .assert()
    .code(0)
    .stdout(predicate::str::contains("GATE PASS WITH WARNINGS"))
    .stderr(predicate::str::contains("non-critical metrics failed"));
}

#[test]
fn reference_answers_pass_everything() {
    let out = tempfile::tempdir().unwrap();
    let preds = reference_predictions(out.path());
    gate(Path::new(MINI), &preds, &out.path().join("run"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("GATE PASS"));
}

#[test]
fn broken_case_line_exits_2_naming_file_line_and_field() {
    let dir = mini_copy();
    let cases = dir.path().join("cases.jsonl");
    let mut text = fs::read_to_string(&cases).unwrap();
    text.push_str(
        "{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}\n{\"messages\": 5}\n",
    );
    fs::write(&cases, text).unwrap();
    okla()
        .args(["suite", "check"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cases.jsonl:5: field `messages[0].role`: unknown role \"robot\"",
        ))
        .stderr(predicate::str::contains(
            "cases.jsonl:6: field `messages`: expected an array",
        ));
}

#[test]
fn broken_manifest_exits_2() {
    let dir = mini_copy();
    let toml = dir.path().join("suite.toml");
    let text = fs::read_to_string(&toml)
        .unwrap()
        .replace("json_valid = {", "json_vaild = {");
    fs::write(&toml, text).unwrap();
    okla()
        .args(["suite", "check"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "field `thresholds.json_vaild`: unknown metric",
        ));
}

#[test]
fn broken_predictions_exit_2() {
    let dir = mini_copy();
    let preds = dir.path().join("predictions.jsonl");
    fs::write(&preds, "{\"id\": \"cases:1:0\", \"output\": 7}\n").unwrap();
    gate(dir.path(), &preds, &dir.path().join("run"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "predictions.jsonl:1: field `output`: expected a string",
        ));
}

#[test]
fn bad_flags_exit_2() {
    okla()
        .args(["gate", "--threshold", "json_valid=between:1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not min or max"));
    okla().args(["gate", "--nope"]).assert().code(2);
    okla()
        .args(["gate", "--suite", "/nonexistent/suite"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read"));
}

#[test]
fn golden_compare_catches_an_injected_regression() {
    let out = tempfile::tempdir().unwrap();
    let preds = reference_predictions(out.path());
    let good = out.path().join("good");
    gate(Path::new(MINI), &preds, &good).assert().code(0);
    let golden = out.path().join("golden.json");
    okla()
        .arg("compare")
        .arg(&good)
        .arg("--golden")
        .arg(&golden)
        .arg("--bless")
        .assert()
        .code(0);
    okla()
        .arg("compare")
        .arg(&good)
        .arg("--golden")
        .arg(&golden)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("no regression"));

    // Inject a regression: one answer loses its closing brace.
    let text = fs::read_to_string(&preds).unwrap();
    let broken = text.replacen("false}\"}", "false\"}", 1);
    assert_ne!(broken, text);
    let bad_preds = out.path().join("bad.jsonl");
    fs::write(&bad_preds, broken).unwrap();
    let bad = out.path().join("bad");
    gate(Path::new(MINI), &bad_preds, &bad).assert().code(1);
    okla()
        .arg("compare")
        .arg(&bad)
        .arg("--golden")
        .arg(&golden)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("REGRESSED"))
        .stdout(predicate::str::contains("cases flipped pass → fail"));
    okla().arg("compare").arg(&good).arg(&bad).assert().code(1);
}

/// Tolerances for the timing metrics when a test compares a native-engine run with its
/// golden snapshot: they measure the machine (and the tests running beside it), not the
/// model, so only the quality metrics are held to compare's defaults.
const TIMING_TOLERANCES: [&str; 8] = [
    "--tolerance",
    "latency_mean_s=400%",
    "--tolerance",
    "latency_p95_s=400%",
    "--tolerance",
    "ttft_mean_s=400%",
    "--tolerance",
    "tokens_per_s=90%",
];

#[test]
fn readme_main_command_gates_the_default_model_and_matches_its_golden_snapshot() {
    // README's main command, verbatim: a release build gating suites/okla's default
    // model (models/okla-tiny) on the native engine (the test profile's engine took
    // 87 s for the first 20 of the 190 cases, the release build ~100 s for all).
    let out = tempfile::tempdir().unwrap();
    let run = out.path().join("run");
    let gate = std::process::Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .args(["run", "--release", "--quiet", "--", "gate", "--run-dir"])
        .arg(&run)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&gate.stdout);
    let stderr = String::from_utf8_lossy(&gate.stderr);
    // The verdict recorded in the golden snapshot (README says why okla-tiny fails).
    let golden = okla_harness::golden::read_snapshot(Path::new("golden/okla-tiny.json")).unwrap();
    let outcome = golden
        .outcome
        .expect("the golden snapshot records its verdict");
    assert_eq!(
        gate.status.code(),
        Some(i32::from(outcome.exit_code())),
        "{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("gating the suite's default model"),
        "{stderr}"
    );
    assert!(
        stdout.contains(&format!("GATE {}", outcome.label())),
        "{stdout}"
    );
    assert_matches_golden(&run, "golden/okla-tiny.json", &TIMING_TOLERANCES);
}

#[test]
fn example_predictions_replay_and_match_their_golden_snapshot() {
    let out = tempfile::tempdir().unwrap();
    let run = out.path().join("run");
    okla()
        .env("NO_COLOR", "1")
        .args([
            "gate",
            "--predictions",
            "suites/okla/example_predictions.jsonl",
        ])
        .arg("--run-dir")
        .arg(&run)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("GATE PASS"));
    assert_matches_golden(&run, "golden/okla-example.json", &[]);
}

/// `compare RUN --golden GOLDEN` (with `tolerances`) finds no regression and warns of nothing.
fn assert_matches_golden(run: &Path, golden: &str, tolerances: &[&str]) {
    okla()
        .arg("compare")
        .arg(run)
        .args(["--golden", golden])
        .args(tolerances)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("no regression"))
        .stdout(predicate::str::contains("warning").not());
}
