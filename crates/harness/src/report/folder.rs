//! The run folder as a unit: one run's files and nothing else, finished or plainly not.
//!
//! - Before the first case, [`RunFolder::prepare`] creates the folder, empties it of
//!   what an earlier run left there (`report.json` first, so it stops counting as a
//!   finished run at once; then the other reports, the journal, temporary files of
//!   interrupted writes) and opens the journal, which proves it writable. A folder
//!   holding anything a run does not write is refused, never emptied.
//! - While the run goes, its [`Journal`] takes every answer.
//! - [`RunFolder::commit`] writes each report atomically, makes the renames durable,
//!   and writes `report.json` last, listing every other file with its sha256: that is
//!   the commit. A run killed before it leaves a folder without `report.json`.
//! - [`read_report`] reads a folder back only when it is whole: its `report.json`
//!   exists and every file listed is there with that content.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use super::journal::{Journal, JOURNAL_FILE};
use super::json_report::{parse_report, render_report_json, ReportFile};
use super::{
    render_junit, render_metrics_csv, render_predictions, render_summary_md, render_timings_csv,
    JUNIT_XML, METRICS_CSV, PREDICTIONS_JSONL, REPORT_JSON, SUMMARY_MD, TIMINGS_CSV,
};
use crate::backend::Generation;
use crate::gate::Outcome;
use crate::runner::Run;
use okla_formats::atomic::{sync_dir, write_atomic, TEMP_PREFIX};
use okla_formats::error::InputError;
use okla_formats::hash::hex;

/// Every file a run writes into its folder.
const RUN_FILES: [&str; 7] = [
    REPORT_JSON,
    PREDICTIONS_JSONL,
    METRICS_CSV,
    JUNIT_XML,
    SUMMARY_MD,
    TIMINGS_CSV,
    JOURNAL_FILE,
];

/// A run folder made ready for a run, with its journal open.
#[derive(Debug)]
pub struct RunFolder {
    dir: PathBuf,
    journal: Journal,
}

impl RunFolder {
    /// Make `dir` ready for a new run (see the module docs) and start its journal with
    /// `seed`, the answers an earlier run gave that this one reuses (`--resume`). Errors
    /// here come before any case is generated.
    pub fn prepare<'a>(
        dir: &Path,
        seed: impl IntoIterator<Item = (&'a str, &'a Generation)>,
    ) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the run folder {}", dir.display()))?;
        let mut leftovers = Vec::new();
        let mut foreign = Vec::new();
        let entries = std::fs::read_dir(dir)
            .with_context(|| format!("reading the run folder {}", dir.display()))?;
        for entry in entries {
            let entry =
                entry.with_context(|| format!("reading the run folder {}", dir.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_file = entry.file_type().is_ok_and(|t| t.is_file());
            if is_file && name == JOURNAL_FILE {
                // Replaced atomically by the new journal below: a run resumed into its
                // own folder never has a moment without the answers it resumes.
            } else if is_file
                && (RUN_FILES.contains(&name.as_str()) || name.starts_with(TEMP_PREFIX))
            {
                leftovers.push(name);
            } else {
                foreign.push(name);
            }
        }
        if !foreign.is_empty() {
            foreign.sort();
            return Err(InputError::file(
                dir,
                format!(
                    "not a run folder: it holds {}, which no run writes; a run folder is replaced whole, so give a new or empty folder",
                    foreign.join(", ")
                ),
            )
            .into());
        }
        remove_leftovers(dir, leftovers)?;
        let journal = Journal::create(&dir.join(JOURNAL_FILE), seed)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            journal,
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The journal every answer of the run goes to.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Write every report of `run` and commit them with `report.json` (see the module
    /// docs); returns the paths written. The journal goes once the run was evaluated
    /// (`predictions.jsonl` holds every answer); a run that could not be evaluated keeps
    /// it for `--resume`.
    pub fn commit(self, run: &Run) -> Result<Vec<PathBuf>> {
        let mut files: Vec<(&str, String)> = vec![
            (PREDICTIONS_JSONL, render_predictions(&run.results)?),
            (METRICS_CSV, render_metrics_csv(run)?),
            (JUNIT_XML, render_junit(run)),
            (SUMMARY_MD, render_summary_md(run)),
        ];
        if let Some(timings) = render_timings_csv(&run.results)? {
            files.push((TIMINGS_CSV, timings));
        }
        let manifest: BTreeMap<String, String> = files
            .iter()
            .map(|(name, content)| (name.to_string(), sha256(content.as_bytes())))
            .collect();
        let report = render_report_json(run, &manifest)?;
        let mut written = Vec::with_capacity(files.len() + 1);
        for (name, content) in &files {
            let path = self.dir.join(name);
            write_atomic(&path, content.as_bytes())?;
            written.push(path);
        }
        sync_dir(&self.dir)?;
        let path = self.dir.join(REPORT_JSON);
        write_atomic(&path, report.as_bytes())?;
        sync_dir(&self.dir)?;
        written.push(path);
        if run.gate.outcome != Outcome::CouldNotEvaluate {
            let journal = self.journal.path().to_path_buf();
            drop(self.journal);
            std::fs::remove_file(&journal)
                .with_context(|| format!("removing the journal {}", journal.display()))?;
        }
        Ok(written)
    }
}

/// Read a finished run's `report.json` (`path`: the run folder or the file itself) and
/// check the folder is whole: every file it lists is there with that content. A folder
/// without it, or with a file that is not its own, is an input error saying so.
pub fn read_report(path: &Path) -> Result<ReportFile> {
    let (dir, file) = if path.is_dir() {
        (path.to_path_buf(), path.join(REPORT_JSON))
    } else {
        let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        (dir, path.to_path_buf())
    };
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && holds_run_files(&dir) => {
            return Err(InputError::file(
                &dir,
                format!("not a finished run: it has no {REPORT_JSON}, so the run writing it was interrupted; rerun the gate (--resume {} reuses its answers)", dir.display()),
            )
            .into())
        }
        Err(e) => return Err(InputError::file(&file, format!("cannot read: {e}")).into()),
    };
    let report = parse_report(&text, &file)?;
    for (name, expected) in &report.files {
        let listed = dir.join(name);
        let bytes = std::fs::read(&listed).map_err(|e| {
            InputError::file(
                &listed,
                format!("cannot read ({e}), yet {REPORT_JSON} lists it: the run folder is not whole; rerun the gate"),
            )
        })?;
        if &sha256(&bytes) != expected {
            return Err(InputError::file(
                &listed,
                format!("is not the file {REPORT_JSON} lists (its sha256 differs): the folder mixes runs or was edited; rerun the gate"),
            )
            .into());
        }
    }
    Ok(report)
}

/// Remove the files of `dir` named in `leftovers`, left by an earlier run: the commit
/// marker `report.json` first, so from then on the folder is no finished run.
pub(super) fn remove_leftovers(dir: &Path, mut leftovers: Vec<String>) -> Result<()> {
    leftovers.sort_by_key(|name| name != REPORT_JSON);
    for name in &leftovers {
        let path = dir.join(name);
        std::fs::remove_file(&path)
            .with_context(|| format!("removing {} left by an earlier run", path.display()))?;
    }
    Ok(())
}

/// True when `dir` holds any file a run writes (the trace of an interrupted run).
fn holds_run_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            RUN_FILES.contains(&name.as_str()) || name.starts_with(TEMP_PREFIX)
        })
    })
}

fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}
