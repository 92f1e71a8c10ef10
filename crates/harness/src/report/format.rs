//! Number formatting shared by the human-readable reports.

use crate::gate::MetricVerdict;
use crate::runner::Run;
use crate::score::is_rate;

/// A metric value for humans: rates as percentages, others with 3 decimals, `–` when absent.
pub fn value(metric: &str, value: Option<f64>) -> String {
    match value {
        None => "–".into(),
        Some(v) if is_rate(metric) => format!("{:.1}%", 100.0 * v),
        Some(v) => format!("{v:.3}"),
    }
}

/// A 95% interval for humans (`[81.2%, 90.1%]`), empty when absent.
pub fn interval(metric: &str, ci: Option<(f64, f64)>) -> String {
    match ci {
        Some((lo, hi)) => format!("[{}, {}]", value(metric, Some(lo)), value(metric, Some(hi))),
        None => String::new(),
    }
}

/// The rule of a verdict for humans (`≥ 85.0% (ideal 95.0%)`, with `critical` when so).
pub fn rule(v: &MetricVerdict) -> String {
    let t = &v.threshold;
    let op = match t.direction {
        crate::gate::Direction::Min => "≥",
        crate::gate::Direction::Max => "≤",
    };
    let mut s = format!("{op} {}", value(&v.metric, Some(t.acceptable)));
    if let Some(ideal) = t.ideal {
        s.push_str(&format!(" (ideal {})", value(&v.metric, Some(ideal))));
    }
    if t.critical {
        s.push_str(" critical");
    }
    s
}

/// What the verdict rests on, when that is not every case of the suite answered: a run
/// the backend failed (how many cases, the first error, that it is not the model's
/// fault) or a partial run (`--max-cases`).
pub fn evidence_note(run: &Run) -> Option<String> {
    let e = &run.gate.evidence;
    if e.unanswered > 0 {
        let first = run
            .results
            .iter()
            .find_map(|r| r.error.as_deref())
            .unwrap_or("no error recorded");
        return Some(format!(
            "could not evaluate: {} gave no answer to {} of the {} cases (first: {first}); no verdict on the model",
            run.meta.backend.source(),
            e.unanswered,
            e.scored
        ));
    }
    e.is_partial().then(|| {
        format!(
            "partial run: {} of the suite's {} cases scored (--max-cases): never IDEAL, never a golden snapshot",
            e.scored, e.suite_cases
        )
    })
}

/// Metrics a run measured that no threshold judges (`slang 41.2% (n=190)`), for the
/// "also measured" line under the verdicts.
pub fn unjudged(run: &crate::runner::Run) -> Vec<String> {
    run.summary
        .metrics
        .iter()
        .filter(|m| m.value.is_some() && !run.gate.verdicts.iter().any(|v| v.metric == m.name))
        .map(|m| format!("{} {} (n={})", m.name, value(&m.name, m.value), m.n))
        .collect()
}
