//! Reports: one writer per format, all rendering a [`Run`](crate::runner::Run).
//!
//! A run folder `runs/<utc-time>-<model-hash>/` holds `report.json`,
//! `predictions.jsonl` (byte-identical on a deterministic rerun), `metrics.csv`,
//! `junit.xml`, `summary.md` and, for backends that time generation, `timings.csv`;
//! every file written atomically. The terminal table is printed, not written.

mod csv_report;
mod format;
mod json_report;
mod junit;
mod markdown;
mod predictions;
mod terminal;

use std::path::{Path, PathBuf};

use anyhow::Result;

pub use csv_report::{render_metrics_csv, render_timings_csv};
pub use json_report::{read_report, render_report_json, ReportFile};
pub use junit::render_junit;
pub use markdown::render_summary_md;
pub use predictions::render_predictions;
pub use terminal::{render_terminal, Style};

use crate::runner::Run;
use okla_formats::atomic::write_atomic;

/// The file names of a run folder.
pub const REPORT_JSON: &str = "report.json";
/// Per-case results, one JSON object a line (see [`crate::prediction`]).
pub use crate::prediction::PREDICTIONS_JSONL;
/// Metrics as CSV.
pub const METRICS_CSV: &str = "metrics.csv";
/// JUnit XML for CI test reporters.
pub const JUNIT_XML: &str = "junit.xml";
/// Per-case latency and token counts as CSV (only for backends that time generation).
pub const TIMINGS_CSV: &str = "timings.csv";
/// Markdown for a CI step summary.
pub const SUMMARY_MD: &str = "summary.md";

/// The default run folder name: `<utc-time>-<first 12 hex of the model sha256>`
/// (e.g. `20261125T093512Z-3fa2b1c09d1e`).
pub fn run_dir_name(started_at: &str, model_sha256: Option<&str>) -> String {
    let stamp: String = started_at
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let hash = model_sha256.unwrap_or("nohash");
    format!("{stamp}-{}", &hash[..hash.len().min(12)])
}

/// The run folder, whatever the backend: exactly `run_dir` when one is given, else
/// `<out_dir>/`[`run_dir_name`]`(started_at, model_sha256)`. `model_sha256` identifies
/// what was gated (the model file's or the predictions file's sha256; for a served model,
/// which has no file, a sha256 of what names it).
pub fn run_folder(
    run_dir: Option<&Path>,
    out_dir: &Path,
    started_at: &str,
    model_sha256: Option<&str>,
) -> PathBuf {
    match run_dir {
        Some(dir) => dir.to_path_buf(),
        None => out_dir.join(run_dir_name(started_at, model_sha256)),
    }
}

/// Write every report file of `run` into `dir` (created if needed); returns the paths written.
pub fn write_run_dir(run: &Run, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<(&str, String)> = vec![
        (REPORT_JSON, render_report_json(run)?),
        (PREDICTIONS_JSONL, render_predictions(&run.results)?),
        (METRICS_CSV, render_metrics_csv(run)?),
        (JUNIT_XML, render_junit(run)),
        (SUMMARY_MD, render_summary_md(run)),
    ];
    if let Some(timings) = render_timings_csv(&run.results)? {
        files.push((TIMINGS_CSV, timings));
    }
    files
        .iter()
        .map(|(name, content)| {
            let path = dir.join(name);
            write_atomic(&path, content.as_bytes())?;
            Ok(path)
        })
        .collect()
}
