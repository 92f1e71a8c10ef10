//! Snapshot files (`golden/<name>.json`): a run's metrics and per-case pass/fail.
//!
//! A snapshot is taken only of a whole, judged run: a run folder that is not whole, a
//! run the backend failed (no verdict) and, for blessing, a partial run (`--max-cases`)
//! are refused. A golden file is read only in the current format and with metric names
//! that exist, each problem an input error naming file, line and field.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::gate::Outcome;
use crate::locate::json_key_line;
use crate::prediction::{PredictionLine, PREDICTIONS_JSONL};
use crate::report::{read_report, ReportFile};
use crate::score::check_metric_name;
use okla_formats::atomic::write_atomic;
use okla_formats::error::InputError;

/// What a golden file holds, and what a run folder is reduced to for comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Format version.
    pub format: u32,
    /// Suite name.
    pub suite: String,
    /// Suite sha256 (comparisons across different suite contents are flagged).
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

/// Reduce a run folder (report.json + predictions.jsonl) to a snapshot; a folder that is
/// not whole, or a run that could not be evaluated, is an input error.
pub fn snapshot_of_run_dir(dir: &Path) -> Result<Snapshot> {
    Ok(judged_run(dir)?.1)
}

/// Write the run in `dir` as the golden snapshot `golden` (atomically): only a whole,
/// judged run of every case of its suite can become a baseline.
pub fn bless(dir: &Path, golden: &Path) -> Result<Snapshot> {
    let (report, snapshot) = judged_run(dir)?;
    let evidence = report.gate.evidence;
    if evidence.is_partial() {
        return Err(InputError::file(
            dir,
            format!(
                "a partial run ({} of the suite's {} cases, --max-cases) cannot become a golden snapshot: gate every case",
                evidence.scored, evidence.suite_cases
            ),
        )
        .into());
    }
    let text = serde_json::to_string_pretty(&snapshot)? + "\n";
    write_atomic(golden, text.as_bytes())?;
    Ok(snapshot)
}

/// The run in `dir` with its snapshot, refused unless the folder is whole and judged.
fn judged_run(dir: &Path) -> Result<(ReportFile, Snapshot)> {
    let report = read_report(dir)?;
    if report.gate.outcome == Outcome::CouldNotEvaluate {
        return Err(InputError::file(
            dir,
            format!(
                "this run could not be evaluated (the backend gave no answer to {} of its {} cases): it has no verdict to compare",
                report.gate.evidence.unanswered, report.gate.evidence.scored
            ),
        )
        .into());
    }
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
    let snapshot = Snapshot {
        format: SNAPSHOT_FORMAT,
        suite: report.meta.suite.clone(),
        suite_sha256: report.meta.suite_sha256.clone(),
        backend: report.meta.backend.kind.clone(),
        model_sha256: report.meta.backend.model_sha256.clone(),
        metrics: report
            .summary
            .metrics
            .iter()
            .filter_map(|m| Some((m.name.clone(), m.value?)))
            .collect(),
        cases,
        outcome: Some(report.gate.outcome),
    };
    Ok((report, snapshot))
}

/// Read a golden file, or reduce a run folder, whichever `path` is.
pub fn read_snapshot(path: &Path) -> Result<Snapshot> {
    if path.is_dir() {
        return snapshot_of_run_dir(path);
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::file(path, format!("cannot read: {e}")))?;
    Ok(parse_snapshot(&text, path)?)
}

/// Parse a golden file's text (read from `path`).
fn parse_snapshot(text: &str, path: &Path) -> Result<Snapshot, InputError> {
    let snapshot: Snapshot = serde_json::from_str(text)
        .map_err(|e| InputError::at(path, e.line(), None, format!("not a golden snapshot: {e}")))?;
    let at = |key: &str, field: String, message: String| InputError {
        file: Some(path.to_path_buf()),
        line: json_key_line(text, key),
        field: Some(field),
        message,
    };
    if snapshot.format != SNAPSHOT_FORMAT {
        return Err(at(
            "format",
            "format".into(),
            format!(
                "snapshot format {} is not the format {SNAPSHOT_FORMAT} this okla-eval reads: bless it again with this version",
                snapshot.format
            ),
        ));
    }
    for name in snapshot.metrics.keys() {
        check_metric_name(name).map_err(|why| at(name, format!("metrics.{name}"), why))?;
    }
    Ok(snapshot)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: &str = r#"{
  "format": 1,
  "suite": "s",
  "suite_sha256": "h",
  "backend": "replay",
  "model_sha256": null,
  "metrics": {
    "json_valid": 1.0,
    "json_vaild": 0.5
  },
  "cases": {}
}"#;

    #[test]
    fn unknown_metric_names_are_located() {
        let err = parse_snapshot(GOLDEN, Path::new("g.json")).unwrap_err();
        assert_eq!(err.line, Some(9));
        assert_eq!(err.field.as_deref(), Some("metrics.json_vaild"));
        assert!(err.message.contains("unknown metric"), "{err}");
        let fixed = GOLDEN
            .replace("    \"json_vaild\": 0.5\n", "")
            .replace("1.0,", "1.0");
        assert_eq!(
            parse_snapshot(&fixed, Path::new("g.json"))
                .unwrap()
                .metrics
                .len(),
            1
        );
    }

    #[test]
    fn other_formats_are_refused() {
        let text = GOLDEN.replace("\"format\": 1", "\"format\": 2");
        let err = parse_snapshot(&text, Path::new("g.json")).unwrap_err();
        assert_eq!((err.line, err.field.as_deref()), (Some(2), Some("format")));
    }
}
