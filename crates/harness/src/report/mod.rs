//! Reports: one writer per format, all rendering a [`Run`](crate::runner::Run), and
//! the run folder that holds them.
//!
//! A run folder `runs/<utc-time>-<model-hash>/` holds `report.json`,
//! `predictions.jsonl` (byte-identical on a deterministic rerun), `metrics.csv`,
//! `junit.xml`, `summary.md` and, for backends that time generation, `timings.csv`;
//! every file written atomically, and the folder committed as a unit ([`folder`]):
//! `report.json`, written last, lists the others with their sha256. While the run goes,
//! the folder holds its [`journal`], `partial.jsonl`. The terminal table is printed, not
//! written. A run of several decoding arms holds one such folder per arm, and the arms
//! side by side at its root ([`arms`]).

pub mod arms;
mod csv_report;
pub mod folder;
mod format;
pub mod journal;
mod json_report;
mod junit;
mod markdown;
mod predictions;
mod terminal;

use std::path::{Path, PathBuf};

pub use csv_report::{render_metrics_csv, render_timings_csv};
pub use folder::{read_report, RunFolder};
pub use format::evidence_note;
pub use journal::{answered_cases, Journal, JOURNAL_FILE};
pub use json_report::{render_report_json, ReportFile, REPORT_FORMAT};
pub use junit::{render_junit, render_junit_arms};
pub use markdown::render_summary_md;
pub use predictions::render_predictions;
pub use terminal::{render_arms_terminal, render_terminal, Style};

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
