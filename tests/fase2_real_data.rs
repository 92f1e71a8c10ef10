//! The real FASE 2 files (../shared/reference/okla_fase2, read-only, never copied
//! into the repo): `okla-eval gate` replaying their ground-truth assistant turns
//! scores 100% on every format metric (the fixture suite demands exactly that), and
//! our domain checks report what the data really holds.

use std::path::Path;

use assert_cmd::Command;
use okla_harness::report::read_report;

const FASE2: &str = "../shared/reference/okla_fase2";
const SUITE: &str = "tests/fixtures/fase2";

#[test]
fn gate_on_ground_truth_replay_scores_100_percent() {
    if !Path::new(FASE2).is_dir() {
        eprintln!("skipped: {FASE2} is absent (the real FASE 2 reference data)");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let preds = out.path().join("ground_truth.jsonl");
    let run = out.path().join("run");
    let okla = || Command::cargo_bin("okla-eval").unwrap();
    okla()
        .args(["suite", "reference", SUITE, "--out"])
        .arg(&preds)
        .assert()
        .code(0);
    okla()
        .args(["gate", "--suite", SUITE, "--predictions"])
        .arg(&preds)
        .arg("--run-dir")
        .arg(&run)
        .assert()
        .code(0);

    let report = read_report(&run).unwrap();
    let s = &report.summary;
    assert_eq!(s.cases, 796, "assistant turns in okla_test.jsonl");
    for metric in [
        "json_valid",
        "json_lenient",
        "schema_valid",
        "fields_complete",
        "intent_accuracy",
        "non_empty_response",
        "pii_safe",
        "legal_compliance",
    ] {
        assert_eq!(s.value(metric), Some(1.0), "{metric}");
    }
    let modes: Vec<&str> = s.by_mode.iter().map(|b| b.key.as_str()).collect();
    assert_eq!(modes, ["DealerInventory", "SingleVehicle"]);
    assert_eq!(s.intents.len(), 24, "all 24 intents occur");
    // A finding about the real data, not a bug of ours: the FASE 2 generator quotes
    // prices of vehicles that are not in the dealer's inventory (and "antes" prices
    // that the context never gives) in 79 of the 344 turns that quote a price.
    let grounding = s.metric("anti_hallucination").unwrap().rate.unwrap();
    assert_eq!((grounding.successes, grounding.n), (265, 344));
}
