//! `compare` calls a regression by a paired test, not by tolerance alone: a rate that
//! drops beyond its tolerance on a handful of cases is within noise (exit 0), the same
//! kind of drop on many cases is a significant regression (exit 1); snapshots keep the
//! per-case verdicts behind their rates; the committed golden files read in this format.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

use okla_harness::golden::{read_snapshot, snapshot_of_run_dir, SNAPSHOT_FORMAT};
use okla_harness::report::read_report;
use okla_harness::score::RATE_METRICS;

const OKLA: &str = "suites/okla";

fn okla() -> Command {
    Command::cargo_bin("okla-eval").unwrap()
}

/// Gate `suite` on `predictions` into `run` (its exit code: `code`).
fn gate(suite: &str, predictions: &Path, run: &Path, code: i32) {
    okla()
        .env("NO_COLOR", "1")
        .args(["gate", "--suite", suite, "--predictions"])
        .arg(predictions)
        .arg("--run-dir")
        .arg(run)
        .assert()
        .code(code);
}

/// The okla suite's reference answers (190 cases, every one passing) with the first
/// `broken` answers' closing brace cut off, written to `dir`.
fn reference_with_broken(dir: &Path, broken: usize) -> PathBuf {
    let reference = dir.join("reference.jsonl");
    if !reference.exists() {
        okla()
            .args(["suite", "reference", OKLA, "--out"])
            .arg(&reference)
            .assert()
            .code(0);
    }
    let text = fs::read_to_string(&reference).unwrap();
    let lines: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            if i < broken {
                let cut = line.replacen("}\"}", "\"}", 1);
                assert_ne!(cut, line, "line {i} ends its answer with a brace");
                cut
            } else {
                line.to_string()
            }
        })
        .collect();
    let path = dir.join(format!("broken-{broken}.jsonl"));
    fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

#[test]
fn a_drop_on_few_cases_is_within_noise_and_on_many_a_significant_regression() {
    let out = tempfile::tempdir().unwrap();
    let run = |broken: usize| {
        let dir = out.path().join(format!("run-{broken}"));
        gate(OKLA, &reference_with_broken(out.path(), broken), &dir, 0);
        dir
    };
    let (good, few, many) = (run(0), run(2), run(12));
    let compare = |current: &Path| {
        let mut cmd = okla();
        cmd.arg("compare").arg(&good).arg(current);
        cmd
    };

    // 2 of 190 answers broken: json_valid drops 1.05 points, beyond its 1-point
    // tolerance, but b = 2, c = 0 gives p = 2 · 2^-2 = 0.5.
    compare(&few)
        .assert()
        .code(0)
        .stdout(predicate::str::is_match(r"json_valid +100\.00% +98\.95% +-1\.05pp +0\.01 +2 +0 +0\.50  within noise \(p=0\.50\)").unwrap())
        .stdout(predicate::str::contains("every criterion: 2 pass → fail, 0 fail → pass: within noise (p=0.50)"))
        .stdout(predicate::str::contains("no regression ("));

    // 12 broken: b = 12, c = 0, p = 2 · 2^-12 = 0.00048828125.
    compare(&many)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "REGRESSED: significant regression (p=0.00049)",
        ))
        .stdout(predicate::str::contains("\nREGRESSION"));
    let json = compare(&many).arg("--json").assert().code(1);
    let comparison: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    let json_valid = comparison["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "json_valid")
        .unwrap();
    assert_eq!(json_valid["flips"]["to_fail"], 12);
    assert_eq!(json_valid["flips"]["to_pass"], 0);
    assert_eq!(json_valid["flips"]["paired"], 190);
    assert_eq!(json_valid["p_value"], 0.00048828125);
    assert_eq!(json_valid["status"], "regressed");
    assert_eq!(comparison["alpha"], 0.05);
    assert_eq!(comparison["flipped_p_value"], 0.00048828125);

    // At a stricter level the same flips are within noise.
    compare(&many)
        .args(["--alpha", "0.0001"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("within noise (p=0.00049)"));
}

#[test]
fn an_alpha_outside_0_1_is_a_usage_error() {
    for alpha in ["0", "1", "1.5", "five"] {
        okla()
            .args(["compare", "a", "b", "--alpha", alpha])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("is not a significance level"));
    }
}

/// The per-case verdicts a snapshot keeps give the rates of the run's report.json,
/// through predictions.jsonl (the mini suite's recorded answers fail in several ways).
#[test]
fn a_snapshot_holds_the_verdicts_behind_the_reports_rates() {
    let out = tempfile::tempdir().unwrap();
    let run = out.path().join("run");
    gate(
        "tests/fixtures/mini",
        Path::new("tests/fixtures/mini/predictions.jsonl"),
        &run,
        1,
    );
    let report = read_report(&run).unwrap();
    let snapshot = snapshot_of_run_dir(&run).unwrap();
    let mut judged = 0;
    for &metric in RATE_METRICS {
        let verdicts: Vec<bool> = snapshot
            .cases
            .values()
            .filter_map(|case| case.verdict(metric))
            .collect();
        let rate = report.summary.metric(metric).unwrap().rate.unwrap();
        assert_eq!(verdicts.len() as u64, rate.n, "{metric}");
        let passed = verdicts.iter().filter(|&&pass| pass).count() as u64;
        assert_eq!(passed, rate.successes, "{metric}");
        judged += verdicts.len();
    }
    assert!(judged > 6 * 5, "{judged}");
    assert!(snapshot.cases.values().any(|case| !case.fail.is_empty()));
}

#[test]
fn the_committed_golden_files_read_in_this_format() {
    for golden in ["golden/okla-example.json", "golden/okla-tiny.json"] {
        let snapshot = read_snapshot(Path::new(golden)).unwrap();
        assert_eq!(snapshot.format, SNAPSHOT_FORMAT, "{golden}");
        assert_eq!(snapshot.cases.len(), 190, "{golden}");
        assert!(snapshot.outcome.is_some(), "{golden}");
    }
}
