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
/// fault), a constrained run whose backend did not enforce the constraint, or a partial
/// run (`--max-cases`).
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
    if e.unenforced > 0 {
        let grammar = run.meta.decoding.grammar.as_str();
        return Some(format!(
            "could not evaluate: schema not enforced: {} of the {} answers of this run, constrained by the {grammar} grammar, ended on their own yet break it: {} did not enforce the constraint (a server that ignores response_format); no verdict on the model",
            e.unenforced,
            e.scored,
            run.meta.backend.source(),
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

/// How many flaky cases are listed with their draws.
const LISTED_FLAKY: usize = 10;

/// The repeated draws in words, when the run had them: a headline (draws per case,
/// pass^N, mean pass rate over draws, pass on any draw, flaky cases), then the first
/// flaky cases with what each draw did (`okla_test:12:0 2/5: 1 passed · 2 intent · …`).
pub fn repeats_lines(run: &Run) -> Vec<String> {
    let Some(r) = &run.summary.repeats else {
        return Vec::new();
    };
    let rate =
        |x: &crate::score::Rate| format!("{} ({}/{})", value("rate", x.value()), x.successes, x.n);
    let mean = run.summary.cases_passed as f64 / run.summary.cases.max(1) as f64;
    let mut lines = vec![format!(
        "{} draws per case: pass^{} {} · mean pass rate over draws {} · passed on some draw {} · flaky cases {}",
        r.draws,
        r.draws,
        rate(&r.pass_all),
        value("rate", Some(mean)),
        rate(&r.pass_any),
        r.flaky.len()
    )];
    for f in r.flaky.iter().take(LISTED_FLAKY) {
        let draws: Vec<String> = f
            .draws
            .iter()
            .map(|(d, kind)| format!("{d} {kind}"))
            .collect();
        lines.push(format!(
            "{} {}/{}: {}",
            f.id,
            f.passed,
            f.draws.len(),
            draws.join(" · ")
        ));
    }
    if r.flaky.len() > LISTED_FLAKY {
        lines.push(format!(
            "… and {} more flaky cases (report.json: summary.repeats.flaky)",
            r.flaky.len() - LISTED_FLAKY
        ));
    }
    lines
}
