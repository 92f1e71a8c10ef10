//! Snapshot files (`golden/<name>.json`): a run's metrics and per-case pass/fail.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::gate::Outcome;
use crate::prediction::{PredictionLine, PREDICTIONS_JSONL};
use crate::report::read_report;
use okla_formats::error::InputError;

/// What a golden file holds, and what a run folder is reduced to for comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Format version.
    pub format: u32,
    /// Suite name.
    pub suite: String,
    /// Suite sha256 (comparisons across different suites are flagged).
    pub suite_sha256: String,
    /// Backend kind.
    pub backend: String,
    /// Model (or predictions file) sha256.
    pub model_sha256: Option<String>,
    /// Measured metric values (unmeasured ones are left out).
    pub metrics: BTreeMap<String, f64>,
    /// Case id → passed every per-case criterion.
    pub cases: BTreeMap<String, bool>,
    /// The gate's verdict on the run (absent in snapshots blessed before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

/// The snapshot format version.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// Reduce a run folder (report.json + predictions.jsonl) to a snapshot.
pub fn snapshot_of_run_dir(dir: &Path) -> Result<Snapshot> {
    let report = read_report(dir)?;
    let predictions = dir.join(PREDICTIONS_JSONL);
    let text = std::fs::read_to_string(&predictions)
        .map_err(|e| InputError::file(&predictions, format!("cannot read: {e}")))?;
    let mut cases = BTreeMap::new();
    for (line, parsed) in PredictionLine::parse_all(&text, &predictions) {
        let case = parsed?;
        let passed = case.passed.ok_or_else(|| {
            InputError::at(&predictions, line, Some("passed".into()), "missing field")
        })?;
        cases.insert(case.id, passed);
    }
    Ok(Snapshot {
        format: SNAPSHOT_FORMAT,
        suite: report.meta.suite,
        suite_sha256: report.meta.suite_sha256,
        backend: report.meta.backend.kind,
        model_sha256: report.meta.backend.model_sha256,
        metrics: report
            .summary
            .metrics
            .iter()
            .filter_map(|m| Some((m.name.clone(), m.value?)))
            .collect(),
        cases,
        outcome: Some(report.gate.outcome),
    })
}

/// Read a golden file, or reduce a run folder, whichever `path` is.
pub fn read_snapshot(path: &Path) -> Result<Snapshot> {
    if path.is_dir() {
        return snapshot_of_run_dir(path);
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::file(path, format!("cannot read: {e}")))?;
    let snapshot: Snapshot = serde_json::from_str(&text)
        .map_err(|e| InputError::at(path, e.line(), None, format!("not a golden snapshot: {e}")))?;
    Ok(snapshot)
}
