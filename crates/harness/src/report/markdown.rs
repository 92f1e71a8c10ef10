//! `summary.md`: the gate verdict, metric table, failure classes and breakdowns in
//! Markdown, ready for a CI step summary (e.g. `$GITHUB_STEP_SUMMARY`).

use std::fmt::Write;

use super::format;
use crate::runner::Run;
use crate::score::{Breakdown, CHECK_NAMES};

/// How many failing cases are listed with their reasons.
const LISTED_FAILURES: usize = 10;

/// Render the Markdown summary.
pub fn render_summary_md(run: &Run) -> String {
    let m = &run.meta;
    let s = &run.summary;
    let mut md = String::new();
    let _ = writeln!(md, "# okla-eval gate: **{}**\n", run.gate.outcome.label());
    let _ = writeln!(
        md,
        "Suite `{}` (sha256 `{}`), backend `{}` on `{}`, {} cases, {} passed every check.\n",
        m.suite,
        short(&m.suite_sha256),
        m.backend.kind,
        m.backend.model,
        s.cases,
        s.cases_passed
    );
    if let Some(note) = format::evidence_note(run) {
        let _ = writeln!(md, "> **{note}**\n");
    }
    md.push_str("| metric | value | 95% CI | n | rule | verdict |\n|---|---:|---|---:|---|---|\n");
    for v in &run.gate.verdicts {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            v.metric,
            format::value(&v.metric, v.value),
            format::interval(&v.metric, v.ci95),
            v.n,
            format::rule(v),
            v.verdict
        );
    }
    let unjudged = format::unjudged(run);
    if !unjudged.is_empty() {
        let _ = writeln!(
            md,
            "\nAlso measured (no threshold): {}.",
            unjudged.join(", ")
        );
    }
    let failures: Vec<_> = run.gate.failures().collect();
    if !failures.is_empty() {
        md.push_str("\n## Why it failed\n\n");
        for v in failures {
            let kind = if v.threshold.critical {
                "critical"
            } else {
                "warning"
            };
            let _ = writeln!(md, "- **{}** ({kind}): {}", v.metric, v.explanation);
        }
    }
    md.push_str("\n## Answers by failure class\n\n| class | count | share | examples |\n|---|---:|---:|---|\n");
    for c in &s.failure_classes {
        let _ = writeln!(
            md,
            "| {} | {} | {:.1}% | {} |",
            c.class.as_str(),
            c.count,
            100.0 * c.share,
            c.examples.join(", ")
        );
    }
    let mut repeats = format::repeats_lines(run).into_iter();
    if let Some(headline) = repeats.next() {
        let _ = writeln!(md, "\n## Repeated draws\n\n{headline}.\n");
        for flaky in repeats {
            let _ = writeln!(md, "- flaky `{flaky}`");
        }
    }
    breakdown_table(&mut md, "By mode", &s.by_mode);
    checks_by_mode(&mut md, &s.by_mode);
    for (check, groups) in &s.check_groups {
        let _ = writeln!(
            md,
            "\n## `{check}` by kind of request\n\n| kind | n | passed | rate |\n|---|---:|---:|---:|"
        );
        for g in groups {
            let rate = g.passed as f64 / g.n.max(1) as f64;
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                g.key,
                g.n,
                g.passed,
                format::value("rate", Some(rate))
            );
        }
    }
    breakdown_table(&mut md, "By turn", &s.by_turn);
    breakdown_table(&mut md, "By intent", &s.by_intent);
    let failing: Vec<_> = run.results.iter().filter(|r| !r.passed).collect();
    if !failing.is_empty() {
        let _ = writeln!(
            md,
            "\n## Failing cases (first {} of {})\n",
            LISTED_FAILURES.min(failing.len()),
            failing.len()
        );
        for r in failing.iter().take(LISTED_FAILURES) {
            let _ = writeln!(md, "- `{}`: {}", r.id, r.why());
        }
    }
    md
}

fn breakdown_table(md: &mut String, title: &str, rows: &[Breakdown]) {
    let _ = writeln!(md, "\n## {title}\n\n| key | n | JSON valid | fields complete | intent accuracy | passed |\n|---|---:|---:|---:|---:|---:|");
    for b in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            b.key,
            b.n,
            format::value("rate", Some(b.json_valid)),
            format::value("rate", Some(b.fields_complete)),
            format::value("rate", b.intent_accuracy),
            format::value("rate", Some(b.passed))
        );
    }
}

/// Each domain check's pass rate per mode (the boundary check above all is read per mode).
fn checks_by_mode(md: &mut String, rows: &[Breakdown]) {
    let checks: Vec<&str> = CHECK_NAMES
        .iter()
        .copied()
        .filter(|c| rows.iter().any(|b| b.checks.contains_key(*c)))
        .collect();
    if checks.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "\n## Domain checks by mode\n\n| mode | {} |\n|---|{}",
        checks.join(" | "),
        "---:|".repeat(checks.len())
    );
    for b in rows {
        let cells: Vec<String> = checks
            .iter()
            .map(|c| format::value("rate", b.checks.get(*c).copied()))
            .collect();
        let _ = writeln!(md, "| {} | {} |", b.key, cells.join(" | "));
    }
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}
