//! Training metrics: one JSON line per optimizer step (and per evaluation) in
//! `metrics.jsonl`, and the loss and learning-rate curves drawn as an SVG.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use okla_formats::atomic::write_atomic;

/// One logged record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRecord {
    /// Optimizer step (1-based: the step just completed).
    pub step: u64,
    /// Epoch as a fraction (steps / steps per epoch).
    pub epoch: f64,
    /// Mean training loss of the step (absent on evaluation records).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub loss: Option<f64>,
    /// Learning rate used by the step.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lr: Option<f64>,
    /// Gradient norm before clipping.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub grad_norm: Option<f64>,
    /// Label tokens in the step.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tokens: Option<i64>,
    /// Mean evaluation loss (evaluation records).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub eval_loss: Option<f64>,
    /// Seconds since the run (or resume) started.
    pub elapsed_s: f64,
}

/// The run's metric log, kept in memory and rewritten atomically on [`MetricsLog::flush`].
#[derive(Debug, Default)]
pub struct MetricsLog {
    records: Vec<MetricRecord>,
}

impl MetricsLog {
    /// The first `lines` records of an existing `metrics.jsonl` (resume).
    pub fn load(path: &Path, lines: usize) -> Result<Self> {
        let records = match std::fs::read_to_string(path) {
            Ok(text) => text
                .lines()
                .take(lines)
                .map(serde_json::from_str)
                .collect::<Result<_, _>>()?,
            Err(_) => Vec::new(),
        };
        Ok(Self { records })
    }

    /// Records so far.
    pub fn records(&self) -> &[MetricRecord] {
        &self.records
    }

    /// Append a record (in memory).
    pub fn push(&mut self, record: MetricRecord) {
        self.records.push(record);
    }

    /// Rewrite `metrics.jsonl` and `curves.svg` in `dir` (atomically).
    pub fn flush(&self, dir: &Path) -> Result<()> {
        let mut text = String::new();
        for r in &self.records {
            text.push_str(&serde_json::to_string(r)?);
            text.push('\n');
        }
        write_atomic(&dir.join("metrics.jsonl"), text.as_bytes())?;
        write_atomic(
            &dir.join("curves.svg"),
            render_svg(&self.records).as_bytes(),
        )
    }
}

const WIDTH: f64 = 720.0;
const PANEL: f64 = 240.0;
const MARGIN: f64 = 56.0;

/// `(x, y)` data points scaled to pixel positions in a panel at vertical offset `top`.
fn to_pixels(points: &[(f64, f64)], x_max: f64, y_max: f64, top: f64) -> Vec<(f64, f64)> {
    points
        .iter()
        .map(|(x, y)| {
            let px = MARGIN + (WIDTH - 2.0 * MARGIN) * x / x_max.max(1e-12);
            let py = top + PANEL - (PANEL - 20.0) * y / y_max.max(1e-12);
            (px, py)
        })
        .collect()
}

/// A polyline through pixel positions.
fn polyline(pixels: &[(f64, f64)], style: &str) -> String {
    let coords: Vec<String> = pixels
        .iter()
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect();
    format!(
        "<polyline fill=\"none\" {style} points=\"{}\"/>\n",
        coords.join(" ")
    )
}

/// An SVG with two panels: training (blue) and evaluation (orange) loss, and the
/// learning rate (green), against the optimizer step.
pub fn render_svg(records: &[MetricRecord]) -> String {
    let pick = |f: fn(&MetricRecord) -> Option<f64>| -> Vec<(f64, f64)> {
        records
            .iter()
            .filter_map(|r| f(r).map(|v| (r.step as f64, v)))
            .filter(|(_, v)| v.is_finite())
            .collect()
    };
    let train = pick(|r| r.loss);
    let eval = pick(|r| r.eval_loss);
    let lr = pick(|r| r.lr);
    let x_max = records.iter().map(|r| r.step as f64).fold(1.0, f64::max);
    let loss_max = train.iter().chain(&eval).map(|p| p.1).fold(1e-9, f64::max);
    let lr_max = lr.iter().map(|p| p.1).fold(1e-12, f64::max);
    let height = 2.0 * PANEL + 3.0 * 30.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    svg.push_str("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    for (i, (title, y_max)) in [
        ("loss (train blue, eval orange)", loss_max),
        ("learning rate", lr_max),
    ]
    .iter()
    .enumerate()
    {
        let top = 30.0 + i as f64 * (PANEL + 30.0);
        let _ = writeln!(
            svg,
            "<text x=\"{MARGIN}\" y=\"{:.0}\">{title}</text>",
            top - 8.0
        );
        let _ = writeln!(
            svg,
            "<rect x=\"{MARGIN}\" y=\"{top}\" width=\"{}\" height=\"{PANEL}\" fill=\"none\" stroke=\"#999\"/>",
            WIDTH - 2.0 * MARGIN
        );
        let _ = writeln!(
            svg,
            "<text x=\"4\" y=\"{:.0}\">{y_max:.3e}</text>",
            top + 24.0
        );
        let _ = writeln!(svg, "<text x=\"4\" y=\"{:.0}\">0</text>", top + PANEL);
        let _ = writeln!(
            svg,
            "<text x=\"{:.0}\" y=\"{:.0}\">step {x_max:.0}</text>",
            WIDTH - MARGIN - 60.0,
            top + PANEL + 16.0
        );
    }
    let orange = "stroke=\"#ff7f0e\" stroke-width=\"2\"";
    svg.push_str(&polyline(
        &to_pixels(&train, x_max, loss_max, 30.0),
        "stroke=\"#1f77b4\" stroke-width=\"1.5\"",
    ));
    let eval_px = to_pixels(&eval, x_max, loss_max, 30.0);
    svg.push_str(&polyline(&eval_px, orange));
    for (x, y) in &eval_px {
        let _ = writeln!(
            svg,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"#ff7f0e\"/>"
        );
    }
    svg.push_str(&polyline(
        &to_pixels(&lr, x_max, lr_max, 60.0 + PANEL),
        "stroke=\"#2ca02c\" stroke-width=\"1.5\"",
    ));
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(step: u64, loss: Option<f64>, eval: Option<f64>) -> MetricRecord {
        MetricRecord {
            step,
            epoch: step as f64 / 10.0,
            loss,
            lr: loss.map(|_| 1e-4 * step as f64),
            grad_norm: None,
            tokens: None,
            eval_loss: eval,
            elapsed_s: 0.0,
        }
    }

    #[test]
    fn log_round_trips_and_svg_draws_three_curves() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = MetricsLog::default();
        log.push(rec(1, Some(2.0), None));
        log.push(rec(2, Some(1.0), None));
        log.push(rec(2, None, Some(1.5)));
        log.flush(dir.path()).unwrap();
        let again = MetricsLog::load(&dir.path().join("metrics.jsonl"), 2).unwrap();
        assert_eq!(again.records(), &log.records()[..2]);
        let svg = std::fs::read_to_string(dir.path().join("curves.svg")).unwrap();
        assert_eq!(svg.matches("<polyline").count(), 3);
        insta::assert_snapshot!(render_svg(log.records()));
    }
}
