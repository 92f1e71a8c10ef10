//! `report.json`: the self-describing record of a run (metadata, every metric with
//! its interval, breakdowns, the gate verdicts). `compare` reads it back.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::gate::GateResult;
use crate::runner::{Run, RunMeta};
use crate::score::Summary;
use okla_formats::error::InputError;

/// The on-disk shape of `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportFile {
    /// Format version of this file.
    pub format: u32,
    /// What was run, on what, how.
    pub meta: RunMeta,
    /// Metrics and breakdowns.
    pub summary: Summary,
    /// The gate's judgement.
    pub gate: GateResult,
}

/// The current `report.json` format version.
pub const REPORT_FORMAT: u32 = 1;

/// Render `report.json`.
pub fn render_report_json(run: &Run) -> Result<String> {
    let file = ReportFile {
        format: REPORT_FORMAT,
        meta: run.meta.clone(),
        summary: run.summary.clone(),
        gate: run.gate.clone(),
    };
    Ok(serde_json::to_string_pretty(&file)? + "\n")
}

/// Read a run's `report.json` (from the run folder or the file itself).
pub fn read_report(path: &Path) -> Result<ReportFile> {
    let file = if path.is_dir() {
        path.join(super::REPORT_JSON)
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file)
        .map_err(|e| InputError::file(&file, format!("cannot read: {e}")))?;
    let report: ReportFile = serde_json::from_str(&text)
        .map_err(|e| InputError::at(&file, e.line(), None, format!("not a report.json: {e}")))
        .with_context(|| format!("reading {}", file.display()))?;
    Ok(report)
}
