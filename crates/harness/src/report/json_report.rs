//! `report.json`: the self-describing record of a run (metadata, every metric with
//! its interval, breakdowns, the gate verdicts) and the manifest of its run folder
//! (every other file with its sha256). It is written last: a folder with a
//! `report.json` holds a finished run ([`super::folder`]). `compare` reads it back.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::gate::GateResult;
use crate::locate::json_key_line;
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
    /// The run folder's other files, by name, with the sha256 of their content: the
    /// folder is one run's exactly when each is there with that content.
    pub files: BTreeMap<String, String>,
}

/// The current `report.json` format version (2: the gate's evidence, the folder's
/// manifest).
pub const REPORT_FORMAT: u32 = 2;

/// Render `report.json` for `run`, whose folder's other files are `files` (name →
/// sha256).
pub fn render_report_json(run: &Run, files: &BTreeMap<String, String>) -> Result<String> {
    let file = ReportFile {
        format: REPORT_FORMAT,
        meta: run.meta.clone(),
        summary: run.summary.clone(),
        gate: run.gate.clone(),
        files: files.clone(),
    };
    Ok(serde_json::to_string_pretty(&file)? + "\n")
}

/// Parse the text of `report.json` (read from `file`): only the current format is
/// read, and every problem is an input error naming the file, line and field.
pub fn parse_report(text: &str, file: &Path) -> Result<ReportFile, InputError> {
    #[derive(Deserialize)]
    struct Version {
        format: u32,
        #[serde(default)]
        kind: Option<String>,
        #[serde(default)]
        arms: Vec<ArmName>,
    }
    #[derive(Deserialize)]
    struct ArmName {
        folder: String,
    }
    let not_a_report = |e: serde_json::Error| {
        InputError::at(file, e.line(), None, format!("not a report.json: {e}"))
    };
    let version: Version = serde_json::from_str(text).map_err(not_a_report)?;
    if version.kind.as_deref() == Some(super::arms::ARMS_KIND) {
        let dir = file.parent().unwrap_or(Path::new("."));
        let folders: Vec<String> = version
            .arms
            .iter()
            .map(|a| dir.join(&a.folder).display().to_string())
            .collect();
        return Err(InputError::file(
            file,
            format!(
                "is the index of a run of {} decoding arms, not one run: compare or bless one arm's folder ({})",
                folders.len(),
                folders.join(", ")
            ),
        ));
    }
    if version.format != REPORT_FORMAT {
        return Err(InputError {
            file: Some(file.to_path_buf()),
            line: json_key_line(text, "format"),
            field: Some("format".into()),
            message: format!(
                "report format {} is not the format {REPORT_FORMAT} this okla-eval reads: rerun the gate with this version",
                version.format
            ),
        });
    }
    serde_json::from_str(text).map_err(not_a_report)
}
