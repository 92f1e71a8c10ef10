//! The terminal report of `data stats`.

use std::fmt::Write;

use super::{DataStats, RARE_FRACTION, SEQ_LEN_MULTIPLE};

/// Render the statistics as an aligned plain-text report.
pub fn render_text(stats: &DataStats) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = write_report(&mut out, stats);
    out
}

fn write_report(out: &mut String, s: &DataStats) -> std::fmt::Result {
    let n = s.conversations;
    writeln!(out, "files")?;
    let width = s.files.iter().map(|f| f.path.len()).max().unwrap_or(0);
    for f in &s.files {
        writeln!(
            out,
            "  {:<width$}  {:>6} conversations  {:>10} tokens",
            f.path, f.conversations, f.tokens
        )?;
    }
    writeln!(out, "conversations  {n}")?;
    let t = &s.turns;
    writeln!(
        out,
        "messages       {} (user {}, assistant {})",
        t.messages, t.user, t.assistant
    )?;
    let mix = &t.per_conversation;
    writeln!(out, "assistant turns per conversation")?;
    for (label, count) in [
        ("0", mix.none),
        ("1", mix.one),
        ("2-4", mix.two_to_four),
        ("5-8", mix.five_to_eight),
        ("9+", mix.nine_or_more),
    ] {
        writeln!(out, "  {label:<5} {count:>6}  {}", percent(count, n))?;
    }

    writeln!(out, "modes")?;
    let width = s.modes.iter().map(|m| m.mode.len()).max().unwrap_or(0);
    for m in &s.modes {
        writeln!(
            out,
            "  {:<width$}  {:>6}  {}",
            m.mode,
            m.conversations,
            percent(m.conversations, n)
        )?;
    }

    let i = &s.intents;
    let with_intent: usize = i.counts.iter().map(|c| c.count).sum();
    writeln!(
        out,
        "intents ({} assistant turns, {} intents, mean {:.1}; rare = under {:.0}% of the mean)",
        with_intent + i.without_intent,
        i.counts.len(),
        i.mean,
        RARE_FRACTION * 100.0
    )?;
    let width = i
        .counts
        .iter()
        .map(|c| c.intent.len())
        .max()
        .unwrap_or(0)
        .max(11);
    for c in &i.counts {
        let flag = match (c.rare, c.known) {
            (true, true) => "  RARE",
            (true, false) => "  RARE, not an OKLA intent",
            (false, false) => "  not an OKLA intent",
            (false, true) => "",
        };
        writeln!(
            out,
            "  {:<width$}  {:>6}  {}{flag}",
            c.intent,
            c.count,
            percent(c.count, with_intent)
        )?;
    }
    if i.without_intent > 0 {
        writeln!(out, "  {:<width$}  {:>6}", "(no intent)", i.without_intent)?;
    }
    if !i.missing.is_empty() {
        writeln!(
            out,
            "  missing OKLA intents ({}): {}",
            i.missing.len(),
            i.missing.join(", ")
        )?;
    }

    writeln!(
        out,
        "token lengths (Llama 3 chat template, generation prompt included)"
    )?;
    match &s.tokens {
        None => writeln!(out, "  no conversations")?,
        Some(l) => {
            writeln!(
                out,
                "  min {}  mean {:.1}  p50 {}  p90 {}  p95 {}  p99 {}  max {}  total {}",
                l.min, l.mean, l.p50, l.p90, l.p95, l.p99, l.max, l.total
            )?;
            if let Some(rec) = s.recommended_max_seq_len {
                writeln!(
                    out,
                    "recommended max_seq_len  {rec} (P95 {} rounded up to a multiple of {SEQ_LEN_MULTIPLE})",
                    l.p95
                )?;
            }
        }
    }
    writeln!(out, "truncation")?;
    for t in &s.truncation {
        let note = if Some(t.max_seq_len) == s.recommended_max_seq_len {
            "  (recommended)"
        } else {
            ""
        };
        writeln!(
            out,
            "  max_seq_len {:>6}: {:>6} of {n} conversations truncated ({:.1}%){note}",
            t.max_seq_len,
            t.truncated,
            t.fraction * 100.0
        )?;
    }
    Ok(())
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        "-".to_string()
    } else {
        format!("{:5.1}%", part as f64 * 100.0 / whole as f64)
    }
}
