//! Comparing a run against a baseline (a golden snapshot or another run).
//!
//! A value metric (loss, latency) regresses when it worsens beyond its tolerance. A rate
//! metric has a verdict per case, so its change is also tested on the cases both runs
//! judged (exact McNemar, [`Flips`]): it regresses only when it worsens beyond its
//! tolerance *and* significantly more cases flipped to fail than to pass (p < alpha).
//! A change beyond tolerance that the flips cannot tell from chance is `within_noise`; a
//! significant drop the tolerance allows is `tolerated`. Neither fails a comparison.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::paired::Flips;
use super::snapshot::Snapshot;
use super::tolerance::{default_tolerance, Tolerance};
use crate::gate::Outcome;
use crate::score::{higher_is_better, is_rate, is_timing};

/// The significance level of the paired test unless told otherwise.
pub const DEFAULT_ALPHA: f64 = 0.05;

/// How a metric moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Within tolerance (and, for a rate, no significant drop).
    Same,
    /// Better than the baseline beyond tolerance (for a rate, significantly).
    Improved,
    /// Worse than the baseline beyond tolerance (for a rate, significantly): fails compare.
    Regressed,
    /// A rate moved beyond tolerance, but its flips are within chance (p ≥ alpha).
    WithinNoise,
    /// A rate dropped significantly (p < alpha) but within its tolerance.
    Tolerated,
    /// Measured in only one of the two runs.
    Missing,
    /// A timing metric of two runs timed on different machines: not judged.
    OtherMachine,
}

/// One metric's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricDelta {
    /// Metric name.
    pub metric: String,
    /// Baseline value.
    pub baseline: Option<f64>,
    /// Current value.
    pub current: Option<f64>,
    /// current − baseline.
    pub delta: Option<f64>,
    /// The tolerance applied.
    pub tolerance: Tolerance,
    /// For a rate measured in both runs: its per-case verdicts that flipped.
    pub flips: Option<Flips>,
    /// The flips' exact McNemar p-value.
    pub p_value: Option<f64>,
    /// The verdict on the change.
    pub status: Status,
}

/// How a comparison is judged.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareOptions {
    /// Tolerances by metric, replacing [`default_tolerance`].
    pub tolerances: BTreeMap<String, Tolerance>,
    /// Significance level of the paired test, in (0, 1).
    pub alpha: f64,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            tolerances: BTreeMap::new(),
            alpha: DEFAULT_ALPHA,
        }
    }
}

/// The full comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Per-metric changes, in name order.
    pub metrics: Vec<MetricDelta>,
    /// The significance level the paired tests were judged at.
    pub alpha: f64,
    /// Cases that passed every criterion in the baseline and fail now.
    pub flipped_to_fail: Vec<String>,
    /// Cases that failed in the baseline and pass every criterion now.
    pub flipped_to_pass: Vec<String>,
    /// The exact McNemar p-value of those two lists.
    pub flipped_p_value: f64,
    /// The two runs used different suite contents.
    pub suite_changed: bool,
    /// The gate's verdict, baseline → current, when both are known and they differ.
    pub outcome_changed: Option<(Outcome, Outcome)>,
    /// The machines of the baseline's and the current run's timings, when both are known
    /// and they differ: the timing metrics were not judged.
    pub machines_differ: Option<(String, String)>,
}

impl Comparison {
    /// True when a metric regressed (beyond its tolerance, and significantly for a rate),
    /// or the gate's verdict got worse.
    pub fn regressed(&self) -> bool {
        let worse_verdict = self
            .outcome_changed
            .is_some_and(|(before, now)| now.rank() < before.rank());
        worse_verdict || self.metrics.iter().any(|m| m.status == Status::Regressed)
    }
}

/// How many case ids a refusal lists.
const LISTED_IDS: usize = 3;

/// Compare `current` against `baseline`, judged by `options`. Runs of different suites,
/// or that scored different cases, are not comparable: the error says how they differ.
pub fn compare(
    baseline: &Snapshot,
    current: &Snapshot,
    options: &CompareOptions,
) -> Result<Comparison, String> {
    same_cases(baseline, current)?;
    let machines_differ = match (&baseline.timed_on, &current.timed_on) {
        (Some(b), Some(c)) if b != c => Some((b.clone(), c.clone())),
        _ => None,
    };
    let mut names: Vec<&String> = baseline
        .metrics
        .keys()
        .chain(current.metrics.keys())
        .collect();
    names.sort();
    names.dedup();
    let metrics = names
        .into_iter()
        .map(|name| {
            let delta = metric_delta(name, baseline, current, options);
            match delta.status {
                Status::Missing => delta,
                _ if machines_differ.is_some() && is_timing(name) => MetricDelta {
                    status: Status::OtherMachine,
                    ..delta
                },
                _ => delta,
            }
        })
        .collect();
    let flipped = |from: bool| -> Vec<String> {
        baseline
            .cases
            .iter()
            .filter(|(id, before)| {
                before.passed == from && current.cases.get(*id).map(|now| now.passed) == Some(!from)
            })
            .map(|(id, _)| id.clone())
            .collect()
    };
    Ok(Comparison {
        metrics,
        alpha: options.alpha,
        flipped_to_fail: flipped(true),
        flipped_to_pass: flipped(false),
        flipped_p_value: Flips::count(baseline, current, |case| Some(case.passed)).p_value(),
        suite_changed: baseline.suite_sha256 != current.suite_sha256,
        outcome_changed: match (baseline.outcome, current.outcome) {
            (Some(b), Some(c)) if b != c => Some((b, c)),
            _ => None,
        },
        machines_differ,
    })
}

/// Refuse runs of different suites or cases.
fn same_cases(baseline: &Snapshot, current: &Snapshot) -> Result<(), String> {
    if baseline.suite != current.suite {
        return Err(format!(
            "the runs gated different suites ({:?} and {:?}): there is nothing to compare",
            baseline.suite, current.suite
        ));
    }
    let only_in = |a: &Snapshot, b: &Snapshot| -> Vec<String> {
        a.cases
            .keys()
            .filter(|id| !b.cases.contains_key(*id))
            .cloned()
            .collect()
    };
    let (only_baseline, only_current) = (only_in(baseline, current), only_in(current, baseline));
    if only_baseline.is_empty() && only_current.is_empty() {
        return Ok(());
    }
    let examples: Vec<&str> = only_baseline
        .iter()
        .chain(&only_current)
        .take(LISTED_IDS)
        .map(String::as_str)
        .collect();
    Err(format!(
        "the runs scored different cases ({} only in the baseline, {} only in the current run, e.g. {}): compare runs of the same cases",
        only_baseline.len(),
        only_current.len(),
        examples.join(", ")
    ))
}

/// One metric's change and its verdict.
fn metric_delta(
    name: &str,
    baseline: &Snapshot,
    current: &Snapshot,
    options: &CompareOptions,
) -> MetricDelta {
    let b = baseline.metrics.get(name).copied();
    let c = current.metrics.get(name).copied();
    let tolerance = options
        .tolerances
        .get(name)
        .copied()
        .unwrap_or_else(|| default_tolerance(name));
    let flips = (b.is_some() && c.is_some() && is_rate(name))
        .then(|| Flips::count(baseline, current, |case| case.verdict(name)));
    let (delta, status) = match (b, c) {
        (Some(b), Some(c)) => {
            let worse_by = if higher_is_better(name) { b - c } else { c - b };
            let allowance = tolerance.allowance(b) + 1e-12;
            (
                Some(c - b),
                judge(worse_by, allowance, flips.as_ref(), options.alpha),
            )
        }
        _ => (None, Status::Missing),
    };
    MetricDelta {
        metric: name.to_string(),
        baseline: b,
        current: c,
        delta,
        tolerance,
        p_value: flips.as_ref().map(Flips::p_value),
        flips,
        status,
    }
}

/// The verdict on a metric that got `worse_by` worse (negative: better) against its
/// `allowance`; for a rate, also on its `flips` at level `alpha`.
fn judge(worse_by: f64, allowance: f64, flips: Option<&Flips>, alpha: f64) -> Status {
    let (worse, better) = (worse_by > allowance, -worse_by > allowance);
    let Some(flips) = flips else {
        return match (worse, better) {
            (true, _) => Status::Regressed,
            (_, true) => Status::Improved,
            _ => Status::Same,
        };
    };
    match (worse, better) {
        (true, _) if flips.significantly_worse(alpha) => Status::Regressed,
        (_, true) if flips.significantly_better(alpha) => Status::Improved,
        (true, _) | (_, true) => Status::WithinNoise,
        _ if flips.significantly_worse(alpha) => Status::Tolerated,
        _ => Status::Same,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::golden::CaseVerdicts;

    /// A snapshot whose case `i` has `json_valid` verdict `valid[i]` (and passed with it),
    /// and eval loss `loss`.
    fn snap(valid: &[bool], loss: f64) -> Snapshot {
        let cases: BTreeMap<String, CaseVerdicts> = valid
            .iter()
            .enumerate()
            .map(|(i, &ok)| {
                let list = vec!["json_valid".to_string()];
                let verdicts = CaseVerdicts {
                    passed: ok,
                    fail: if ok { vec![] } else { list.clone() },
                    pass: if ok { list } else { vec![] },
                };
                (format!("c{i:04}"), verdicts)
            })
            .collect();
        let share = valid.iter().filter(|&&ok| ok).count() as f64 / valid.len() as f64;
        Snapshot {
            format: 2,
            suite: "s".into(),
            suite_sha256: "h".into(),
            backend: "replay".into(),
            model_sha256: None,
            metrics: [
                ("json_valid".to_string(), share),
                ("eval_loss".to_string(), loss),
            ]
            .into(),
            cases,
            outcome: None,
            timed_on: None,
        }
    }

    /// `n` cases, the first `failing` failing.
    fn run(n: usize, failing: usize, loss: f64) -> Snapshot {
        let valid: Vec<bool> = (0..n).map(|i| i >= failing).collect();
        snap(&valid, loss)
    }

    fn json_valid(c: &Comparison) -> &MetricDelta {
        c.metrics.iter().find(|m| m.metric == "json_valid").unwrap()
    }

    #[test]
    fn a_worse_gate_verdict_is_a_regression() {
        let mut base = run(4, 0, 1.0);
        base.outcome = Some(Outcome::Fail);
        let mut now = run(4, 0, 1.0);
        now.outcome = Some(Outcome::Pass);
        let better = compare(&base, &now, &CompareOptions::default()).unwrap();
        assert_eq!(better.outcome_changed, Some((Outcome::Fail, Outcome::Pass)));
        assert!(!better.regressed());
        assert!(compare(&now, &base, &CompareOptions::default())
            .unwrap()
            .regressed());
    }

    #[test]
    fn a_drop_on_few_cases_is_within_noise() {
        // 2 of 10 cases flip to fail: 20 points, far beyond the 1-point tolerance, but
        // p = 2 · P(X ≤ 0 | Bin(2, ½)) = 0.5.
        let c = compare(
            &run(10, 0, 1.0),
            &run(10, 2, 1.0),
            &CompareOptions::default(),
        )
        .unwrap();
        let m = json_valid(&c);
        assert_eq!(m.status, Status::WithinNoise);
        assert_eq!(
            m.flips,
            Some(Flips {
                to_fail: 2,
                to_pass: 0,
                paired: 10
            })
        );
        assert_eq!(m.p_value, Some(0.5));
        assert!(!c.regressed());
        assert_eq!(c.flipped_to_fail, ["c0000", "c0001"]);
        assert_eq!(c.flipped_p_value, 0.5);
    }

    #[test]
    fn a_drop_on_many_cases_is_a_significant_regression() {
        // 7 of 100 flip to fail, none back: p = 2 / 2^7 = 0.015625 < 0.05.
        let c = compare(
            &run(100, 0, 1.0),
            &run(100, 7, 1.0),
            &CompareOptions::default(),
        )
        .unwrap();
        assert_eq!(json_valid(&c).status, Status::Regressed);
        assert_eq!(json_valid(&c).p_value, Some(0.015625));
        assert!(c.regressed());
        // At alpha 0.01 the same flips are within noise.
        let strict = CompareOptions {
            alpha: 0.01,
            ..CompareOptions::default()
        };
        let c = compare(&run(100, 0, 1.0), &run(100, 7, 1.0), &strict).unwrap();
        assert_eq!(json_valid(&c).status, Status::WithinNoise);
        assert!(!c.regressed());
    }

    #[test]
    fn flips_both_ways_are_weighed_against_each_other() {
        // 9 flip to fail and 1 to pass (b = 9, c = 1): p = 2 · 11/1024 = 0.021484375.
        let base: Vec<bool> = (0..100).map(|i| i != 99).collect();
        let now: Vec<bool> = (0..100).map(|i| i >= 9).collect();
        let c = compare(
            &snap(&base, 1.0),
            &snap(&now, 1.0),
            &CompareOptions::default(),
        )
        .unwrap();
        let m = json_valid(&c);
        assert_eq!(m.flips.map(|f| (f.to_fail, f.to_pass)), Some((9, 1)));
        assert!((m.p_value.unwrap() - 0.021484375).abs() < 1e-15);
        assert_eq!(m.status, Status::Regressed);
        assert_eq!(c.flipped_to_pass, ["c0099"]);
    }

    #[test]
    fn a_significant_drop_within_tolerance_is_tolerated() {
        // 8 of 1000 flip to fail: 0.8 points (within 1) at p = 2 / 2^8.
        let c = compare(
            &run(1000, 0, 1.0),
            &run(1000, 8, 1.0),
            &CompareOptions::default(),
        )
        .unwrap();
        assert_eq!(json_valid(&c).status, Status::Tolerated);
        assert!(!c.regressed());
        // Within tolerance and within chance: the same.
        let c = compare(
            &run(1000, 0, 1.0),
            &run(1000, 1, 1.0),
            &CompareOptions::default(),
        )
        .unwrap();
        assert_eq!(json_valid(&c).status, Status::Same);
    }

    /// A run of `n` cases, the first `failing` failing, with p95 latency `p95` timed on
    /// `machine`.
    fn timed(n: usize, failing: usize, p95: f64, machine: &str) -> Snapshot {
        let mut s = run(n, failing, 1.0);
        s.metrics.insert("latency_p95_s".into(), p95);
        s.timed_on = Some(machine.into());
        s
    }

    #[test]
    fn timings_are_judged_only_between_runs_timed_on_one_machine() {
        let p95 = |c: &Comparison| {
            c.metrics
                .iter()
                .find(|m| m.metric == "latency_p95_s")
                .unwrap()
                .status
        };
        let base = timed(100, 0, 1.0, "Xeon (Avx512, 2 threads)");
        let six_times_slower_on = |machine: &str| {
            compare(
                &base,
                &timed(100, 0, 6.0, machine),
                &CompareOptions::default(),
            )
            .unwrap()
        };
        let same = six_times_slower_on("Xeon (Avx512, 2 threads)");
        assert_eq!(p95(&same), Status::Regressed);
        assert_eq!(same.machines_differ, None);
        assert!(same.regressed());
        let other = six_times_slower_on("EPYC (Avx2, 2 threads)");
        assert_eq!(p95(&other), Status::OtherMachine);
        assert_eq!(
            other.machines_differ,
            Some((
                "Xeon (Avx512, 2 threads)".into(),
                "EPYC (Avx2, 2 threads)".into()
            ))
        );
        assert!(!other.regressed());
        // Quality is judged whatever the machine.
        let worse = compare(
            &base,
            &timed(100, 10, 1.0, "EPYC (Avx2, 2 threads)"),
            &CompareOptions::default(),
        )
        .unwrap();
        assert_eq!(json_valid(&worse).status, Status::Regressed);
        assert!(worse.regressed());
        // A run that does not know its machine (a server, a replay) is compared as before.
        let mut unknown = timed(100, 0, 6.0, "");
        unknown.timed_on = None;
        assert_eq!(
            p95(&compare(&base, &unknown, &CompareOptions::default()).unwrap()),
            Status::Regressed
        );
    }

    #[test]
    fn value_metrics_are_judged_by_tolerance_alone() {
        let base = run(4, 0, 1.0);
        let c = compare(&base, &run(4, 0, 1.01), &CompareOptions::default()).unwrap();
        let loss = |c: &Comparison| {
            c.metrics
                .iter()
                .find(|m| m.metric == "eval_loss")
                .cloned()
                .unwrap()
        };
        assert_eq!((loss(&c).status, loss(&c).p_value), (Status::Same, None));
        let c = compare(&base, &run(4, 0, 1.5), &CompareOptions::default()).unwrap();
        assert_eq!(loss(&c).status, Status::Regressed);
        assert!(c.regressed());
        let c = compare(&base, &run(4, 0, 0.5), &CompareOptions::default()).unwrap();
        assert_eq!(loss(&c).status, Status::Improved);
        let loose = CompareOptions {
            tolerances: [("eval_loss".to_string(), Tolerance::Absolute(0.6))].into(),
            ..CompareOptions::default()
        };
        assert!(!compare(&base, &run(4, 0, 1.5), &loose).unwrap().regressed());
    }

    #[test]
    fn runs_of_other_suites_or_cases_are_not_compared() {
        let base = run(2, 1, 1.0);
        let other_suite = Snapshot {
            suite: "t".into(),
            ..base.clone()
        };
        let options = CompareOptions::default();
        let err = compare(&base, &other_suite, &options).unwrap_err();
        assert!(err.contains("different suites"), "{err}");
        let err = compare(&base, &run(1, 0, 1.0), &options).unwrap_err();
        assert!(
            err.contains("1 only in the baseline, 0 only in the current run, e.g. c0001"),
            "{err}"
        );
    }
}
