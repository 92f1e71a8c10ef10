//! The grounded checks against an adversarial replay set (tests/adversarial: one fault
//! injected into each reference that can take it) and against references read by hand:
//! recall ≥ 0.95 for every injected fault, false positives ≤ 0.05 on clean references.
//!
//! Two sources: our synthetic test split (the set is committed as
//! tests/data/checks/adversarial_okla_test.jsonl and must equal what the generator
//! makes; `OKLA_BLESS=1` rewrites it) and the real FASE 2 test split
//! (../shared/reference/okla_fase2, third party: generated at test time, never
//! committed; skipped with a printed reason where absent).

mod adversarial;

use std::collections::BTreeMap;
use std::path::Path;

use adversarial::{inject, Fault};
use okla_harness::backend::Generation;
use okla_harness::score::{CaseResult, Lexicon, Scorer};
use okla_harness::suite::{expand, file_stem, load_jsonl, Case, Suite, TurnSelection};
use serde_json::{json, Value};

const FASE2_TEST: &str = "../shared/reference/okla_fase2/okla_test.jsonl";
const COMMITTED_SET: &str = "tests/data/checks/adversarial_okla_test.jsonl";
const HAND_CHECKED: &str = "tests/data/checks/fase2_hand_checked.txt";
/// The checks a clean reference must pass (those that judge content, not form).
const GROUNDED: [&str; 6] = [
    "vehicle_grounding",
    "price_grounding",
    "boundary",
    "legal_refusal",
    "price_disclaimer",
    "language",
];

struct Setup {
    suite: Suite,
    scorer: Scorer,
    lexicon: Lexicon,
}

fn setup() -> Setup {
    let suite = Suite::load(Path::new("suites/okla")).unwrap();
    let scorer = Scorer::new(&suite).unwrap();
    let lexicon = Lexicon::load(Path::new("suites/okla/checks/vehicles.toml")).unwrap();
    Setup {
        suite,
        scorer,
        lexicon,
    }
}

fn cases(setup: &Setup, path: &Path) -> Vec<Case> {
    let conversations = load_jsonl(path).unwrap();
    expand(
        &file_stem(path),
        &conversations,
        &setup.suite.manifest.modes,
        TurnSelection::All,
    )
}

fn score(setup: &Setup, case: &Case, output: &str) -> CaseResult {
    setup.scorer.score(
        case,
        &Generation {
            text: output.to_string(),
            prompt_tokens: None,
            completion_tokens: None,
            finish_reason: None,
            timing: None,
            error: None,
        },
    )
}

/// One injected answer.
struct Injected {
    id: String,
    fault: Fault,
    output: String,
}

/// Inject every fault into every reference that passes the fault's check as written
/// (so a detection is the injected fault's, not one the reference already had).
fn generate(setup: &Setup, cases: &[Case]) -> Vec<Injected> {
    let mut out = Vec::new();
    for fault in Fault::ALL {
        for (salt, case) in cases.iter().enumerate() {
            let original = score(setup, case, &case.reference);
            if original.checks.passed(fault.target()) == Some(false) {
                continue;
            }
            if let Some(output) = inject(case, &setup.lexicon, fault, salt) {
                out.push(Injected {
                    id: case.id.clone(),
                    fault,
                    output,
                });
            }
        }
    }
    out
}

/// Per fault: (injected, caught by its check).
fn recall(
    setup: &Setup,
    cases: &[Case],
    set: &[Injected],
) -> BTreeMap<&'static str, (usize, usize)> {
    let by_id: BTreeMap<&str, &Case> = cases.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut out: BTreeMap<&'static str, (usize, usize)> = BTreeMap::new();
    for injected in set {
        let result = score(setup, by_id[injected.id.as_str()], &injected.output);
        let entry = out.entry(injected.fault.name()).or_default();
        entry.0 += 1;
        if result.checks.passed(injected.fault.target()) == Some(false) {
            entry.1 += 1;
        } else {
            eprintln!(
                "missed {} in {}: {}",
                injected.fault.name(),
                injected.id,
                injected.output
            );
        }
    }
    out
}

fn assert_recall(source: &str, recall: &BTreeMap<&'static str, (usize, usize)>, min_cases: usize) {
    for fault in Fault::ALL {
        let (n, caught) = recall.get(fault.name()).copied().unwrap_or_default();
        let rate = caught as f64 / n.max(1) as f64;
        eprintln!(
            "{source}: {:<14} → {:<17} caught {caught}/{n} (recall {rate:.3})",
            fault.name(),
            fault.target()
        );
        assert!(n >= min_cases, "{source}: only {n} {} cases", fault.name());
        assert!(
            rate >= 0.95,
            "{source}: recall of {} is {rate:.3}",
            fault.name()
        );
    }
}

/// False-positive rate of the grounded checks on `clean` references: per check
/// (flagged / judged) and overall (references with any flag / references).
fn false_positives(setup: &Setup, source: &str, clean: &[&Case]) -> f64 {
    let mut per_check: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut flagged_refs = 0;
    for case in clean {
        let result = score(setup, case, &case.reference);
        let mut flagged = false;
        for check in GROUNDED {
            if let Some(pass) = result.checks.passed(check) {
                let entry = per_check.entry(check).or_default();
                entry.0 += 1;
                if !pass {
                    entry.1 += 1;
                    flagged = true;
                    eprintln!("false positive {check} on {}: {}", case.id, result.why());
                }
            }
        }
        flagged_refs += usize::from(flagged);
    }
    for (check, (judged, flagged)) in &per_check {
        eprintln!("{source}: {check:<17} false positives {flagged}/{judged}");
    }
    let rate = flagged_refs as f64 / clean.len().max(1) as f64;
    eprintln!(
        "{source}: clean references flagged {flagged_refs}/{} ({rate:.3})",
        clean.len()
    );
    rate
}

fn set_to_jsonl(set: &[Injected]) -> String {
    set.iter()
        .map(|i| {
            json!({
                "id": i.id,
                "fault": i.fault.name(),
                "target": i.fault.target(),
                "output": i.output,
            })
            .to_string()
                + "\n"
        })
        .collect()
}

#[test]
fn synthetic_adversarial_set_is_committed_and_caught() {
    let setup = setup();
    let cases = cases(&setup, Path::new("suites/okla/okla_test.jsonl"));
    let set = generate(&setup, &cases);
    let written = set_to_jsonl(&set);
    if std::env::var_os("OKLA_BLESS").is_some() {
        std::fs::write(COMMITTED_SET, &written).unwrap();
    }
    let committed = std::fs::read_to_string(COMMITTED_SET).unwrap();
    assert!(
        committed == written,
        "{COMMITTED_SET} differs from what the generator makes (OKLA_BLESS=1 rewrites it)"
    );
    for line in committed.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(v["output"].as_str().is_some());
    }
    assert_recall("synthetic", &recall(&setup, &cases, &set), 5);
    // The synthetic references are clean by construction (data synth copies every
    // name and price from its catalog): the checks flag none.
    let all: Vec<&Case> = cases.iter().collect();
    assert_eq!(false_positives(&setup, "synthetic", &all), 0.0);
}

#[test]
fn fase2_adversarial_set_is_caught() {
    if !Path::new(FASE2_TEST).exists() {
        eprintln!(
            "skipping: {FASE2_TEST} is absent (the real FASE 2 files are not on this machine)"
        );
        return;
    }
    let setup = setup();
    let cases = cases(&setup, Path::new(FASE2_TEST));
    let set = generate(&setup, &cases);
    assert_recall("fase2", &recall(&setup, &cases, &set), 10);
}

#[test]
fn fase2_hand_checked_references() {
    if !Path::new(FASE2_TEST).exists() {
        eprintln!(
            "skipping: {FASE2_TEST} is absent (the real FASE 2 files are not on this machine)"
        );
        return;
    }
    let setup = setup();
    let cases = cases(&setup, Path::new(FASE2_TEST));
    let by_id: BTreeMap<&str, &Case> = cases.iter().map(|c| (c.id.as_str(), c)).collect();
    let labels = std::fs::read_to_string(HAND_CHECKED).unwrap();
    let mut clean = Vec::new();
    let mut dirty = Vec::new();
    for line in labels.lines().filter(|l| !l.starts_with('#')) {
        let (id, label) = line.split_once(' ').unwrap();
        let case = by_id[id];
        if label == "clean" {
            clean.push(case);
        } else {
            dirty.push(case);
        }
    }
    assert_eq!(clean.len() + dirty.len(), 50);
    let rate = false_positives(&setup, "fase2 hand-checked", &clean);
    assert!(rate <= 0.05, "false-positive rate {rate:.3}");
    // What the hand found wrong, the checks find too.
    for case in dirty {
        let result = score(&setup, case, &case.reference);
        let failed = GROUNDED
            .iter()
            .any(|c| result.checks.passed(c) == Some(false));
        assert!(
            failed,
            "{} is dirty by hand, and no check flags it",
            case.id
        );
    }
}
