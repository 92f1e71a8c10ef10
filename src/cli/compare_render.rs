//! `compare`'s terminal rendering of a [`Comparison`]: a row per metric (values, delta,
//! tolerance, and for rates the paired flips b and c with their McNemar p-value), the
//! flipped cases, the gate's verdict change and the overall verdict.

use std::fmt::Write;

use okla_harness::golden::{Comparison, MetricDelta, Status};
use okla_harness::score::is_rate;

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
        "{:<20} {:>10} {:>10} {:>10} {:>9} {:>7} {:>7} {:>8}  status",
        "metric", "baseline", "current", "delta", "tolerance", "to fail", "to pass", "p"
    );
    for m in &c.metrics {
        let count = |n: Option<u64>| n.map_or("–".to_string(), |n| n.to_string());
        let _ = writeln!(
            out,
            "{:<20} {:>10} {:>10} {:>10} {:>9} {:>7} {:>7} {:>8}  {}",
            m.metric,
            value(&m.metric, m.baseline),
            value(&m.metric, m.current),
            delta(m),
            m.tolerance.to_string(),
            count(m.flips.map(|f| f.to_fail)),
            count(m.flips.map(|f| f.to_pass)),
            m.p_value.map_or("–".to_string(), p_text),
            status(m)
        );
    }
    if let Some((baseline, current)) = &c.machines_differ {
        let _ = writeln!(
            out,
            "timings not compared: the baseline was timed on {baseline}, this run on {current}"
        );
    }
    let _ = writeln!(
        out,
        "rates: to fail / to pass = cases judged in both runs whose verdict flipped; p = exact McNemar test, significant below {}",
        c.alpha
    );
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
    if !c.flipped_to_fail.is_empty() || !c.flipped_to_pass.is_empty() {
        let worse = c.flipped_to_fail.len() > c.flipped_to_pass.len();
        let verdict = if c.flipped_p_value < c.alpha && worse {
            "significantly more cases fail"
        } else if c.flipped_p_value < c.alpha {
            "significantly more cases pass"
        } else {
            "within noise"
        };
        let _ = writeln!(
            out,
            "every criterion: {} pass → fail, {} fail → pass: {verdict} (p={})",
            c.flipped_to_fail.len(),
            c.flipped_to_pass.len(),
            p_text(c.flipped_p_value)
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
    let noise = c
        .metrics
        .iter()
        .filter(|m| m.status == Status::WithinNoise)
        .count();
    let _ = writeln!(
        out,
        "{}{}",
        if c.regressed() {
            "REGRESSION"
        } else {
            "no regression"
        },
        match noise {
            0 => String::new(),
            1 => " (1 change beyond tolerance is within noise)".to_string(),
            n => format!(" ({n} changes beyond tolerance are within noise)"),
        }
    );
    out
}

/// A metric's value: rates as percentages.
fn value(metric: &str, v: Option<f64>) -> String {
    match v {
        None => "–".to_string(),
        Some(v) if is_rate(metric) => format!("{:.2}%", 100.0 * v),
        Some(v) => format!("{v:.4}"),
    }
}

/// A metric's change: rates in percentage points.
fn delta(m: &MetricDelta) -> String {
    match m.delta {
        Some(d) if is_rate(&m.metric) => format!("{:+.2}pp", 100.0 * d),
        Some(d) => format!("{d:+.4}"),
        None => "–".into(),
    }
}

/// The status column: what the change is, and for rates the p-value that decided it.
fn status(m: &MetricDelta) -> String {
    let p = m.p_value.map(p_text);
    match (m.status, p) {
        (Status::Same, _) => "ok".into(),
        (Status::Missing, _) => "missing".into(),
        (Status::OtherMachine, _) => "not compared: other machine".into(),
        (Status::Regressed, Some(p)) => format!("REGRESSED: significant regression (p={p})"),
        (Status::Regressed, None) => "REGRESSED".into(),
        (Status::Improved, Some(p)) => format!("improved: significant (p={p})"),
        (Status::Improved, None) => "improved".into(),
        (Status::WithinNoise, p) => format!("within noise (p={})", p.unwrap_or_default()),
        (Status::Tolerated, p) => format!(
            "tolerated: a significant drop within tolerance (p={})",
            p.unwrap_or_default()
        ),
    }
}

/// A p-value to two significant digits (at least two decimals), tiny ones in
/// scientific notation.
fn p_text(p: f64) -> String {
    if p < 1e-4 {
        return format!("{p:.1e}");
    }
    let decimals = (1 - p.log10().floor() as i32).max(2) as usize;
    format!("{p:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use okla_harness::gate::Outcome;
    use okla_harness::golden::{Flips, Tolerance};

    fn rate(
        metric: &str,
        (b, c): (f64, f64),
        flips: (u64, u64),
        p: f64,
        status: Status,
    ) -> MetricDelta {
        MetricDelta {
            metric: metric.into(),
            baseline: Some(b),
            current: Some(c),
            delta: Some(c - b),
            tolerance: Tolerance::Absolute(0.01),
            flips: Some(Flips {
                to_fail: flips.0,
                to_pass: flips.1,
                paired: 190,
            }),
            p_value: Some(p),
            status,
        }
    }

    #[test]
    fn the_table_shows_flips_and_p_values() {
        let c = Comparison {
            metrics: vec![
                MetricDelta {
                    metric: "eval_loss".into(),
                    baseline: Some(0.0853),
                    current: Some(0.0861),
                    delta: Some(0.0008),
                    tolerance: Tolerance::Absolute(0.02),
                    flips: None,
                    p_value: None,
                    status: Status::Same,
                },
                rate(
                    "json_valid",
                    (1.0, 0.9474),
                    (10, 0),
                    0.001953125,
                    Status::Regressed,
                ),
                rate(
                    "price_grounding",
                    (0.1961, 0.1765),
                    (3, 2),
                    1.0,
                    Status::WithinNoise,
                ),
                rate("schema_valid", (1.0, 0.9947), (1, 0), 1.0, Status::Same),
            ],
            alpha: 0.05,
            flipped_to_fail: vec!["okla_test:3:1".into(), "okla_test:7:0".into()],
            flipped_to_pass: vec![],
            flipped_p_value: 0.5,
            suite_changed: false,
            outcome_changed: Some((Outcome::Pass, Outcome::Fail)),
            machines_differ: None,
        };
        let text = render_comparison(&c);
        insta::assert_snapshot!("compare_table", text);
        assert!(text.contains("REGRESSED: significant regression (p=0.0020)"));
        assert!(text.contains("within noise (p=1.00)"));
    }

    #[test]
    fn timings_of_another_machine_are_named_not_judged() {
        let c = Comparison {
            metrics: vec![MetricDelta {
                metric: "latency_p95_s".into(),
                baseline: Some(1.31),
                current: Some(6.56),
                delta: Some(5.25),
                tolerance: Tolerance::Relative(0.25),
                flips: None,
                p_value: None,
                status: Status::OtherMachine,
            }],
            alpha: 0.05,
            flipped_to_fail: vec![],
            flipped_to_pass: vec![],
            flipped_p_value: 1.0,
            suite_changed: false,
            outcome_changed: None,
            machines_differ: Some((
                "Xeon (Avx512, 2 threads)".into(),
                "EPYC (Avx2, 2 threads)".into(),
            )),
        };
        let text = render_comparison(&c);
        assert!(text.contains("not compared: other machine"), "{text}");
        assert!(
            text.contains("timings not compared: the baseline was timed on Xeon (Avx512, 2 threads), this run on EPYC (Avx2, 2 threads)"),
            "{text}"
        );
        assert!(text.ends_with("no regression\n"), "{text}");
    }

    #[test]
    fn p_values_keep_two_significant_digits() {
        assert_eq!(p_text(1.0), "1.00");
        assert_eq!(p_text(0.41), "0.41");
        assert_eq!(p_text(0.021484375), "0.021");
        assert_eq!(p_text(0.003), "0.0030");
        assert_eq!(p_text(1.9073486328125e-6), "1.9e-6");
    }
}
