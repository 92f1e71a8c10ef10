//! The terminal table: verdicts first, then why anything failed, then failure classes.
//! Colour is used only on a terminal and never when `NO_COLOR` is set.

use std::fmt::Write;
use std::io::IsTerminal;

use super::arms::{decoding_words, side_by_side, worst_outcome};
use super::format;
use crate::gate::{Outcome, Verdict};
use crate::runner::Run;

/// Whether to colour the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// ANSI colours.
    Color,
    /// Plain text.
    Plain,
}

impl Style {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset (or empty).
    pub fn detect() -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        if !no_color && std::io::stdout().is_terminal() {
            Style::Color
        } else {
            Style::Plain
        }
    }

    fn paint(self, text: &str, code: &str) -> String {
        match self {
            Style::Color => format!("\x1b[{code}m{text}\x1b[0m"),
            Style::Plain => text.to_string(),
        }
    }
}

/// Render the human-readable summary of a run.
pub fn render_terminal(run: &Run, style: Style) -> String {
    let mut out = String::new();
    let m = &run.meta;
    let _ = writeln!(
        out,
        "suite {} ({} cases) · backend {} · model {}",
        m.suite, run.summary.cases, m.backend.kind, m.backend.model
    );
    let _ = writeln!(
        out,
        "{:<20} {:>9}  {:<18} {:>6}  {:<32} verdict",
        "metric", "value", "95% CI", "n", "rule"
    );
    for v in &run.gate.verdicts {
        let verdict = v.verdict.to_string();
        let painted = match v.verdict {
            Verdict::Fail if v.threshold.critical => style.paint(&verdict, "1;31"),
            Verdict::Fail => style.paint(&verdict, "33"),
            Verdict::Ideal => style.paint(&verdict, "1;32"),
            Verdict::Pass => style.paint(&verdict, "32"),
            Verdict::NotMeasured => style.paint(&verdict, "2"),
        };
        let _ = writeln!(
            out,
            "{:<20} {:>9}  {:<18} {:>6}  {:<32} {}",
            v.metric,
            format::value(&v.metric, v.value),
            format::interval(&v.metric, v.ci95),
            v.n,
            format::rule(v),
            painted
        );
    }
    let unjudged = format::unjudged(run);
    if !unjudged.is_empty() {
        let _ = writeln!(out, "also measured: {}", unjudged.join(" · "));
    }
    let failures: Vec<_> = run.gate.failures().collect();
    if !failures.is_empty() {
        out.push_str("\nwhy:\n");
        for v in failures {
            let _ = writeln!(out, "  {}: {}", v.metric, v.explanation);
        }
    }
    let classes: Vec<String> = run
        .summary
        .failure_classes
        .iter()
        .map(|c| format!("{} {}", c.class.as_str(), c.count))
        .collect();
    let _ = writeln!(out, "\nanswers: {}", classes.join(" · "));
    let mut repeats = format::repeats_lines(run).into_iter();
    if let Some(headline) = repeats.next() {
        let _ = writeln!(out, "repeats: {headline}");
        for flaky in repeats {
            let _ = writeln!(out, "  flaky {flaky}");
        }
    }
    if let Some(note) = format::evidence_note(run) {
        let _ = writeln!(out, "{note}");
    }
    let _ = writeln!(out, "{}", gate_line(run.gate.outcome, "", style));
    out
}

/// `GATE <outcome><suffix>`, painted by outcome.
fn gate_line(outcome: Outcome, suffix: &str, style: Style) -> String {
    let label = format!("GATE {}{suffix}", outcome.label());
    match outcome {
        Outcome::Pass => style.paint(&label, "1;32"),
        Outcome::PassWithWarnings => style.paint(&label, "1;33"),
        Outcome::Fail => style.paint(&label, "1;31"),
        Outcome::CouldNotEvaluate => style.paint(&label, "1;35"),
    }
}

/// Render the arms of a run side by side: each thresholded metric with every arm's
/// value, interval and verdict, then each arm's decoding, verdict, draws and why it
/// failed, then the overall verdict (the worst arm's).
pub fn render_arms_terminal(arms: &[(&str, &Run)], style: Style) -> String {
    let mut out = String::new();
    let Some((_, first)) = arms.first() else {
        return out;
    };
    let m = &first.meta;
    let _ = writeln!(
        out,
        "suite {} ({} cases) · backend {} · model {} · {} decoding arms",
        m.suite,
        first.gate.evidence.suite_cases / u64::from(m.draws.max(1)),
        m.backend.kind,
        m.backend.model,
        arms.len()
    );
    let rows = side_by_side(arms);
    let mut header = vec!["metric".to_string(), "rule".to_string()];
    header.extend(arms.iter().map(|(a, _)| a.to_string()));
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    for (arm, run) in arms {
        let _ = writeln!(
            out,
            "\n{arm} ({}): {} of {} answers passed every check",
            decoding_words(run),
            run.summary.cases_passed,
            run.summary.cases
        );
        for line in format::repeats_lines(run).iter().take(1) {
            let _ = writeln!(out, "  repeats: {line}");
        }
        if let Some(note) = format::evidence_note(run) {
            let _ = writeln!(out, "  {note}");
        }
        for v in run.gate.failures() {
            let _ = writeln!(out, "  {}: {}", v.metric, v.explanation);
        }
        let _ = writeln!(
            out,
            "  {}",
            gate_line(run.gate.outcome, &format!(" [{arm}]"), style)
        );
    }
    let outcome = worst_outcome(arms.iter().map(|(_, r)| r.gate.outcome));
    let _ = writeln!(out, "\n{}", gate_line(outcome, "", style));
    out
}
