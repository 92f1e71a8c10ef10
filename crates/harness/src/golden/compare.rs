//! Comparing a run against a baseline (a golden snapshot or another run).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::snapshot::Snapshot;
use super::tolerance::{default_tolerance, Tolerance};
use crate::gate::Outcome;
use crate::score::{higher_is_better, is_rate};

/// How a metric moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Within tolerance.
    Same,
    /// Better than the baseline beyond tolerance.
    Improved,
    /// Worse than the baseline beyond tolerance.
    Regressed,
    /// Measured in only one of the two runs.
    Missing,
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
    /// The verdict on the change.
    pub status: Status,
}

/// The full comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Per-metric changes, in name order.
    pub metrics: Vec<MetricDelta>,
    /// Cases that passed in the baseline and fail now.
    pub flipped_to_fail: Vec<String>,
    /// Cases that failed in the baseline and pass now.
    pub flipped_to_pass: Vec<String>,
    /// The two runs used different suite contents.
    pub suite_changed: bool,
    /// The gate's verdict, baseline → current, when both are known and they differ.
    pub outcome_changed: Option<(Outcome, Outcome)>,
}

impl Comparison {
    /// True when any metric regressed beyond its tolerance, or the verdict got worse.
    pub fn regressed(&self) -> bool {
        let worse_verdict = self
            .outcome_changed
            .is_some_and(|(before, now)| now.rank() < before.rank());
        worse_verdict || self.metrics.iter().any(|m| m.status == Status::Regressed)
    }
}

/// How many case ids a refusal lists.
const LISTED_IDS: usize = 3;

/// Compare `current` against `baseline`; `overrides` replace default tolerances by metric.
/// Runs of different suites, or that scored different cases, are not comparable: the
/// error says how they differ.
pub fn compare(
    baseline: &Snapshot,
    current: &Snapshot,
    overrides: &BTreeMap<String, Tolerance>,
) -> Result<Comparison, String> {
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
    if !only_baseline.is_empty() || !only_current.is_empty() {
        let examples: Vec<&str> = only_baseline
            .iter()
            .chain(&only_current)
            .take(LISTED_IDS)
            .map(String::as_str)
            .collect();
        return Err(format!(
            "the runs scored different cases ({} only in the baseline, {} only in the current run, e.g. {}): compare runs of the same cases",
            only_baseline.len(),
            only_current.len(),
            examples.join(", ")
        ));
    }
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
            let b = baseline.metrics.get(name).copied();
            let c = current.metrics.get(name).copied();
            let tolerance = overrides
                .get(name)
                .copied()
                .unwrap_or_else(|| default_tolerance(name));
            let (delta, status) = match (b, c) {
                (Some(b), Some(c)) => {
                    let worse_by = if higher_is_better(name) { b - c } else { c - b };
                    let allowance = tolerance.allowance(b) + 1e-12;
                    let status = if worse_by > allowance {
                        Status::Regressed
                    } else if -worse_by > allowance {
                        Status::Improved
                    } else {
                        Status::Same
                    };
                    (Some(c - b), status)
                }
                _ => (None, Status::Missing),
            };
            MetricDelta {
                metric: name.clone(),
                baseline: b,
                current: c,
                delta,
                tolerance,
                status,
            }
        })
        .collect();
    let flipped = |from: bool| -> Vec<String> {
        baseline
            .cases
            .iter()
            .filter(|(id, &passed)| passed == from && current.cases.get(*id) == Some(&!from))
            .map(|(id, _)| id.clone())
            .collect()
    };
    Ok(Comparison {
        metrics,
        flipped_to_fail: flipped(true),
        flipped_to_pass: flipped(false),
        suite_changed: baseline.suite_sha256 != current.suite_sha256,
        outcome_changed: match (baseline.outcome, current.outcome) {
            (Some(b), Some(c)) if b != c => Some((b, c)),
            _ => None,
        },
    })
}

/// How many flipped cases are listed by id.
const LISTED_FLIPS: usize = 20;

/// Render a comparison for the terminal.
pub fn render_comparison(c: &Comparison) -> String {
    let mut out = String::new();
    if c.suite_changed {
        out.push_str("warning: the two runs used different suite contents (sha256 differs); deltas may not be comparable\n");
    }
    let _ = writeln!(
        out,
        "{:<20} {:>10} {:>10} {:>10} {:>9}  status",
        "metric", "baseline", "current", "delta", "tolerance"
    );
    let fmt = |name: &str, v: Option<f64>| match v {
        None => "–".to_string(),
        Some(v) if is_rate(name) => format!("{:.2}%", 100.0 * v),
        Some(v) => format!("{v:.4}"),
    };
    for m in &c.metrics {
        let status = match m.status {
            Status::Same => "ok",
            Status::Improved => "improved",
            Status::Regressed => "REGRESSED",
            Status::Missing => "missing",
        };
        let delta = match m.delta {
            Some(d) if is_rate(&m.metric) => format!("{:+.2}pp", 100.0 * d),
            Some(d) => format!("{d:+.4}"),
            None => "–".into(),
        };
        let _ = writeln!(
            out,
            "{:<20} {:>10} {:>10} {:>10} {:>9}  {status}",
            m.metric,
            fmt(&m.metric, m.baseline),
            fmt(&m.metric, m.current),
            delta,
            m.tolerance.to_string()
        );
    }
    for (label, ids) in [
        ("pass → fail", &c.flipped_to_fail),
        ("fail → pass", &c.flipped_to_pass),
    ] {
        if ids.is_empty() {
            continue;
        }
        let shown: Vec<&str> = ids.iter().take(LISTED_FLIPS).map(String::as_str).collect();
        let more = if ids.len() > LISTED_FLIPS {
            format!(" … and {} more", ids.len() - LISTED_FLIPS)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{} cases flipped {label}: {}{more}",
            ids.len(),
            shown.join(", ")
        );
    }
    if let Some((before, now)) = c.outcome_changed {
        let _ = writeln!(
            out,
            "gate verdict changed: {} → {}",
            before.label(),
            now.label()
        );
    }
    let _ = writeln!(
        out,
        "{}",
        if c.regressed() {
            "REGRESSION"
        } else {
            "no regression"
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(json_valid: f64, loss: f64, cases: &[(&str, bool)]) -> Snapshot {
        Snapshot {
            format: 1,
            suite: "s".into(),
            suite_sha256: "h".into(),
            backend: "replay".into(),
            model_sha256: None,
            metrics: [
                ("json_valid".to_string(), json_valid),
                ("eval_loss".to_string(), loss),
            ]
            .into(),
            cases: cases.iter().map(|(i, p)| (i.to_string(), *p)).collect(),
            outcome: None,
        }
    }

    #[test]
    fn a_worse_gate_verdict_is_a_regression() {
        let mut base = snap(0.90, 1.0, &[]);
        base.outcome = Some(Outcome::Fail);
        let mut now = snap(0.90, 1.0, &[]);
        now.outcome = Some(Outcome::Pass);
        let better = compare(&base, &now, &BTreeMap::new()).unwrap();
        assert_eq!(better.outcome_changed, Some((Outcome::Fail, Outcome::Pass)));
        assert!(!better.regressed());
        let worse = compare(&now, &base, &BTreeMap::new()).unwrap();
        assert!(worse.regressed());
        assert!(render_comparison(&worse).contains("gate verdict changed: PASS → FAIL"));
    }

    #[test]
    fn only_worse_direction_beyond_tolerance_regresses() {
        let base = snap(0.90, 1.0, &[("a", true), ("b", false)]);
        let same = compare(
            &base,
            &snap(0.895, 1.01, &[("a", true), ("b", false)]),
            &BTreeMap::new(),
        )
        .unwrap();
        assert!(!same.regressed());
        let worse = compare(
            &base,
            &snap(0.85, 0.5, &[("a", false), ("b", true)]),
            &BTreeMap::new(),
        )
        .unwrap();
        assert!(worse.regressed());
        assert_eq!(
            worse
                .metrics
                .iter()
                .find(|m| m.metric == "eval_loss")
                .unwrap()
                .status,
            Status::Improved
        );
        assert_eq!(worse.flipped_to_fail, vec!["a"]);
        assert_eq!(worse.flipped_to_pass, vec!["b"]);
        let loose: BTreeMap<_, _> = [("json_valid".to_string(), Tolerance::Absolute(0.1))].into();
        let cases = [("a", true), ("b", false)];
        assert!(!compare(&base, &snap(0.85, 1.0, &cases), &loose)
            .unwrap()
            .regressed());
    }

    #[test]
    fn runs_of_other_suites_or_cases_are_not_compared() {
        let base = snap(0.90, 1.0, &[("a", true), ("b", false)]);
        let other_suite = Snapshot {
            suite: "t".into(),
            ..base.clone()
        };
        let err = compare(&base, &other_suite, &BTreeMap::new()).unwrap_err();
        assert!(err.contains("different suites"), "{err}");
        let fewer = snap(0.90, 1.0, &[("a", true)]);
        let err = compare(&base, &fewer, &BTreeMap::new()).unwrap_err();
        assert!(
            err.contains("1 only in the baseline, 0 only in the current run, e.g. b"),
            "{err}"
        );
    }
}
