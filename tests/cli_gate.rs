//! The gate and compare commands end to end: exit codes 0/1/2, error messages for
//! broken input, the run folder's files, and golden regressions caught; a verdict only
//! on evidence (no zero-case gate, no replay of another suite's answers, partial runs
//! marked), and output errors that exit 2, never 1.

mod common;

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

const MINI: &str = "tests/fixtures/mini";

fn okla() -> Command {
    Command::cargo_bin("okla-eval").unwrap()
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
    let dir = common::mini_copy();
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
    let dir = common::mini_copy();
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
    let dir = common::mini_copy();
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
        // One of six cases is too few for the paired test to call json_valid's drop
        // anything but noise; the worse gate verdict is the regression.
        .stdout(predicate::str::contains("within noise (p=1.00)"))
        .stdout(predicate::str::contains(
            "gate verdict changed: PASS → FAIL",
        ))
        .stdout(predicate::str::contains("cases flipped pass → fail"));
    okla().arg("compare").arg(&good).arg(&bad).assert().code(1);
}

/// Tolerances for the timing metrics when a test compares a native-engine run with its
/// golden snapshot timed on the same machine: they also measure the tests running beside
/// it, so only the quality metrics are held to compare's defaults. (On another machine
/// compare does not judge timings at all: the golden names its machine, `timed_on`.)
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
    // The run names the machine its timings measure; timings are judged against the
    // golden only when it was timed on the same one.
    let snapshot = okla_harness::golden::snapshot_of_run_dir(&run).unwrap();
    assert!(
        snapshot
            .timed_on
            .as_deref()
            .is_some_and(|m| m.contains(" threads)")),
        "{:?}",
        snapshot.timed_on
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

/// A verdict needs evidence: `--max-cases 0` scores nothing, and that is a usage error,
/// not "every metric N/A, GATE PASS" (the issue's exact command).
#[test]
fn a_gate_of_zero_cases_is_a_usage_error() {
    let out = tempfile::tempdir().unwrap();
    okla()
        .args([
            "gate",
            "--predictions",
            "suites/okla/example_predictions.jsonl",
            "--max-cases",
            "0",
            "--run-dir",
        ])
        .arg(out.path().join("run"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--max-cases"))
        .stdout(predicate::str::contains("PASS").not());
    assert!(!out.path().join("run").exists(), "nothing is written");
}

/// `--max-cases N` is a partial run: judged, but never IDEAL, said so everywhere, and
/// never a golden snapshot.
#[test]
fn a_partial_run_is_reported_never_ideal_and_cannot_be_blessed() {
    let out = tempfile::tempdir().unwrap();
    let preds = reference_predictions(out.path());
    let full = out.path().join("full");
    gate(Path::new(MINI), &preds, &full).assert().code(0);
    let full_report = okla_harness::report::read_report(&full).unwrap();
    assert!(full_report
        .gate
        .verdicts
        .iter()
        .any(|v| v.verdict.to_string() == "IDEAL"));

    let partial = out.path().join("partial");
    gate(Path::new(MINI), &preds, &partial)
        .args(["--max-cases", "2"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "partial run: 2 of the suite's 6 cases scored (--max-cases)",
        ));
    let report = okla_harness::report::read_report(&partial).unwrap();
    assert!(report.gate.evidence.is_partial());
    assert_eq!(report.summary.cases, 2);
    assert!(
        report
            .gate
            .verdicts
            .iter()
            .all(|v| v.verdict.to_string() != "IDEAL"),
        "a partial run never earns IDEAL"
    );
    let summary = fs::read_to_string(partial.join("summary.md")).unwrap();
    assert!(summary.contains("partial run"), "{summary}");

    let golden = out.path().join("golden.json");
    okla()
        .arg("compare")
        .arg(&partial)
        .arg("--golden")
        .arg(&golden)
        .arg("--bless")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "a partial run (2 of the suite's 6 cases",
        ));
    assert!(!golden.exists());
    // Nor is it compared with a full run as if it were one.
    okla()
        .arg("compare")
        .arg(&full)
        .arg(&partial)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("the runs scored different cases"));
}

/// Predictions recorded for another suite are an input error naming the line and the
/// id, not 190 "empty" answers and a model failure.
#[test]
fn predictions_of_another_suite_exit_2_naming_line_and_id() {
    let out = tempfile::tempdir().unwrap();
    gate(
        Path::new(MINI),
        Path::new("suites/okla/example_predictions.jsonl"),
        &out.path().join("run"),
    )
    .assert()
    .code(2)
    .stderr(predicate::str::contains(
        "suites/okla/example_predictions.jsonl:1: field `id`: case \"okla_test:1:0\" is not in suite \"mini\"",
    ))
    .stdout(predicate::str::contains("GATE").not());
}

/// A predictions file that leaves cases unanswered (or holds nothing) gives no verdict.
#[test]
fn predictions_that_miss_cases_exit_2() {
    let dir = common::mini_copy();
    let preds = dir.path().join("predictions.jsonl");
    let text = fs::read_to_string(&preds).unwrap();
    let fewer: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
    fs::write(&preds, fewer).unwrap();
    gate(dir.path(), &preds, &dir.path().join("run"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no answer for 1 of the 6 cases to score (e.g. cases:1:0)",
        ));
    fs::write(&preds, "").unwrap();
    gate(dir.path(), &preds, &dir.path().join("run"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no answer for 6 of the 6 cases"));
}

/// Runs of different suites are not compared ("no regression" would be a lie).
#[test]
fn compare_refuses_runs_of_different_suites() {
    let out = tempfile::tempdir().unwrap();
    let mini = out.path().join("mini");
    gate(
        Path::new(MINI),
        &Path::new(MINI).join("predictions.jsonl"),
        &mini,
    )
    .assert()
    .code(1);
    let okla_run = out.path().join("okla");
    okla()
        .args([
            "gate",
            "--predictions",
            "suites/okla/example_predictions.jsonl",
            "--run-dir",
        ])
        .arg(&okla_run)
        .assert()
        .code(0);
    okla()
        .arg("compare")
        .arg(&mini)
        .arg(&okla_run)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the runs gated different suites (\"mini\" and \"okla\")",
        ))
        .stdout(predicate::str::contains("no regression").not());
    okla()
        .arg("compare")
        .arg(&mini)
        .args(["--golden", "golden/okla-example.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("different suites"));
}

/// Output errors are exit 2, never 1 (which says "the model failed"): a run folder, a
/// golden file or a benchmark report that cannot be written.
#[test]
fn outputs_that_cannot_be_written_exit_2() {
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("a-file");
    fs::write(&file, "not a folder").unwrap();
    let preds = reference_predictions(out.path());
    gate(Path::new(MINI), &preds, &file.join("run"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("creating the run folder"));

    let run = out.path().join("run");
    gate(Path::new(MINI), &preds, &run).assert().code(0);
    okla()
        .arg("compare")
        .arg(&run)
        .arg("--golden")
        .arg(file.join("golden.json"))
        .arg("--bless")
        .assert()
        .code(2);

    okla()
        .arg("bench")
        .arg(common::tiny_q4_k_m())
        .args(["--threads", "1", "-p", "0", "-n", "1", "-r", "1", "--out"])
        .arg(file.join("bench.md"))
        .assert()
        .code(2);
}

/// `bench --parallel` adds one tg row per sequence count, each counting every
/// sequence's tokens, at the depth `-d` names; a count of 0 is a usage error.
#[test]
fn bench_measures_decoding_several_sequences_at_once() {
    let out = okla()
        .arg("bench")
        .arg(common::tiny_q4_k_m())
        .args(["--threads", "1", "-p", "0", "-n", "4", "-r", "1", "-d", "5"])
        .args(["--parallel", "1,3", "-o", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = report["rows"].as_array().unwrap();
    let tests: Vec<(&str, u64, u64)> = rows
        .iter()
        .map(|r| {
            let count = |field: &str| r[field].as_u64().unwrap();
            (
                r["test"].as_str().unwrap(),
                count("n_seq"),
                count("n_depth"),
            )
        })
        .collect();
    assert_eq!(tests, [("tg4 @ d5", 1, 5), ("tg4x3 @ d5", 3, 5)]);
    for row in rows {
        let tokens = 4.0 * row["n_seq"].as_f64().unwrap();
        let seconds = row["samples_ns"][0].as_f64().unwrap() / 1e9;
        let rate = row["samples_ts"][0].as_f64().unwrap();
        assert!((rate - tokens / seconds).abs() < 1e-6 * rate, "{row}");
    }
    okla()
        .arg("bench")
        .arg(common::tiny_q4_k_m())
        .args(["--parallel", "0"])
        .assert()
        .code(2);
}
