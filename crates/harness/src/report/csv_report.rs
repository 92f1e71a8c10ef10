//! `metrics.csv`: one row per metric with value, 95% interval, n, rule and verdict.

use anyhow::Result;

use crate::runner::Run;
use crate::score::CaseResult;

/// Render the metrics table as CSV.
pub fn render_metrics_csv(run: &Run) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "metric",
        "value",
        "ci95_low",
        "ci95_high",
        "n",
        "direction",
        "acceptable",
        "ideal",
        "critical",
        "verdict",
    ])?;
    let num = |v: Option<f64>| v.map(|x| format!("{x:.6}")).unwrap_or_default();
    for m in &run.summary.metrics {
        let verdict = run.gate.verdicts.iter().find(|v| v.metric == m.name);
        let t = verdict.map(|v| v.threshold);
        w.write_record([
            m.name.clone(),
            num(m.value),
            num(m.ci95.map(|c| c.0)),
            num(m.ci95.map(|c| c.1)),
            m.n.to_string(),
            t.map(|t| format!("{:?}", t.direction).to_lowercase())
                .unwrap_or_default(),
            num(t.map(|t| t.acceptable)),
            num(t.and_then(|t| t.ideal)),
            t.map(|t| t.critical.to_string()).unwrap_or_default(),
            verdict.map(|v| v.verdict.to_string()).unwrap_or_default(),
        ])?;
    }
    if let Some(r) = &run.summary.repeats {
        // pass^N and pass on any draw are rates over cases; no threshold judges them.
        for (name, rate) in [
            ("repeats_pass_all", r.pass_all),
            ("repeats_pass_any", r.pass_any),
        ] {
            let ci = rate.wilson();
            let mut row = vec![
                name.to_string(),
                num(rate.value()),
                num(ci.map(|c| c.0)),
                num(ci.map(|c| c.1)),
                rate.n.to_string(),
            ];
            row.resize(10, String::new());
            w.write_record(row)?;
        }
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// Render per-case timings as CSV (`id,latency_s,ttft_s,prompt_tokens,completion_tokens`);
/// `None` when the backend measured no latency (replay).
pub fn render_timings_csv(results: &[CaseResult]) -> Result<Option<String>> {
    if results.iter().all(|r| r.latency_s.is_none()) {
        return Ok(None);
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "id",
        "latency_s",
        "ttft_s",
        "prompt_tokens",
        "completion_tokens",
    ])?;
    let opt = |v: Option<String>| v.unwrap_or_default();
    for r in results {
        w.write_record([
            r.id.clone(),
            opt(r.latency_s.map(|x| format!("{x:.6}"))),
            opt(r.ttft_s.map(|x| format!("{x:.6}"))),
            opt(r.prompt_tokens.map(|n| n.to_string())),
            opt(r.completion_tokens.map(|n| n.to_string())),
        ])?;
    }
    Ok(Some(String::from_utf8(w.into_inner()?)?))
}
