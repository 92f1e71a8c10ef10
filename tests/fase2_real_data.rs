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
}

/// suites/okla's manifest (checks, data files, thresholds) with the real FASE 2 test
/// split as its cases, written into `dir`: the OKLA gate as it judges the real data.
fn okla_suite_on_fase2(dir: &Path) {
    let okla = std::fs::canonicalize("suites/okla").unwrap();
    let okla = okla.to_str().unwrap();
    let fase2 = std::fs::canonicalize(Path::new(FASE2).join("okla_test.jsonl")).unwrap();
    let toml: String = std::fs::read_to_string("suites/okla/suite.toml")
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("default_model") && !l.starts_with("eval_split"))
        .map(|l| {
            l.replace(
                "cases = [\"okla_test.jsonl\"]",
                &format!("cases = [{:?}]", fase2.to_str().unwrap()),
            )
            .replace(
                "\"response.schema.json\"",
                &format!("\"{okla}/response.schema.json\""),
            )
            .replace("\"checks/", &format!("\"{okla}/checks/"))
                + "\n"
        })
        .collect();
    std::fs::write(dir.join("suite.toml"), toml).unwrap();
}

#[test]
fn the_okla_gate_finds_what_the_real_references_hold() {
    if !Path::new(FASE2).is_dir() {
        eprintln!("skipped: {FASE2} is absent (the real FASE 2 reference data)");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let suite = out.path().join("suite");
    std::fs::create_dir(&suite).unwrap();
    okla_suite_on_fase2(&suite);
    let preds = out.path().join("ground_truth.jsonl");
    let run = out.path().join("run");
    let okla = || Command::cargo_bin("okla-eval").unwrap();
    okla()
        .args(["suite", "reference"])
        .arg(&suite)
        .arg("--out")
        .arg(&preds)
        .assert()
        .code(0);
    // The real references fail OKLA's own deploy gate: that is the data, not a bug of
    // ours (the note on the grounded-checks issue lists examples read by hand).
    okla()
        .args(["gate", "--suite"])
        .arg(&suite)
        .arg("--predictions")
        .arg(&preds)
        .arg("--run-dir")
        .arg(&run)
        .assert()
        .code(1);
    let s = read_report(&run).unwrap().summary;
    let rate = |metric: &str| {
        let r = s.metric(metric).unwrap().rate.unwrap();
        (r.successes, r.n)
    };
    // Vehicles the inventory does not hold ("marcas como BMW", search results from
    // other inventories) and listing ids of another context.
    assert_eq!(rate("vehicle_grounding"), (580, 625));
    // "antes RD$5,500,000" prices the context never gives, computed down payments,
    // prices of vehicles the inventory does not hold.
    assert_eq!(rate("price_grounding"), (260, 344));
    // "puedes visitar los perfiles de otros dealers".
    assert_eq!(rate("boundary"), (791, 796));
    // Prices quoted with "*No incluye traspaso ni impuestos" and no reference disclaimer.
    assert_eq!(rate("price_disclaimer"), (248, 344));
    assert_eq!(rate("legal_refusal"), (14, 14));
    assert_eq!(rate("language"), (796, 796));
    let kinds = &s.check_groups["legal_refusal"];
    assert!(kinds.iter().all(|k| k.n == k.passed), "{kinds:?}");
}
