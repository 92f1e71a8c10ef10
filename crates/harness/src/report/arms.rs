//! A run of several decoding arms (greedy, production sampling, production under the
//! schema grammar, ...): each arm is a whole run folder of its own under
//! `arms/<arm name>/` — comparable with `compare` like any two runs — and the root holds
//! the arms side by side: `summary.md`, `metrics.csv` (a row per arm and metric),
//! `junit.xml` (each arm's suites) and, written last, `report.json`, the index: each
//! arm's decoding, verdict, metrics and folder, and the sha256 of every file of the root
//! and of each arm's `report.json` (which vouches for the rest of its folder).
//!
//! The run's outcome is the worst of its arms': a model that fails under the decoding
//! it is served with fails, whatever greedy decoding says.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{
    format, render_junit_arms, render_metrics_csv, JUNIT_XML, METRICS_CSV, REPORT_JSON, SUMMARY_MD,
};
use crate::arm::Arm;
use crate::backend::BackendInfo;
use crate::gate::{MetricVerdict, Outcome};
use crate::runner::Run;
use crate::score::RepeatStats;
use okla_formats::atomic::{sync_dir, write_atomic, TEMP_PREFIX};
use okla_formats::error::InputError;
use okla_formats::hash::hex;

/// The folder under the root that holds one run folder per arm.
pub const ARMS_DIR: &str = "arms";

/// The `kind` of a root `report.json` that indexes arms.
pub const ARMS_KIND: &str = "arms";

/// The files of a root folder besides [`ARMS_DIR`].
const ROOT_FILES: [&str; 4] = [REPORT_JSON, SUMMARY_MD, METRICS_CSV, JUNIT_XML];

/// The root `report.json` of a run of several arms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmsReport {
    /// Format version (the run folders' [`super::REPORT_FORMAT`]).
    pub format: u32,
    /// Always [`ARMS_KIND`]: tells this index from one run's report.
    pub kind: String,
    /// Suite name.
    pub suite: String,
    /// Suite sha256.
    pub suite_sha256: String,
    /// Who answered (as the first arm recorded it).
    pub backend: BackendInfo,
    /// The worst outcome of the arms.
    pub outcome: Outcome,
    /// Each arm, in the order run.
    pub arms: Vec<ArmEntry>,
    /// The root's other files and each arm's `report.json` (`arms/<name>/report.json`),
    /// with their sha256.
    pub files: BTreeMap<String, String>,
}

/// One arm in the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmEntry {
    /// The arm and its decoding.
    #[serde(flatten)]
    pub arm: Arm,
    /// Its run folder, relative to the root.
    pub folder: String,
    /// Answers per case.
    pub draws: u32,
    /// Its verdict.
    pub outcome: Outcome,
    /// Answers scored, and those passing every criterion.
    pub cases: u64,
    /// Answers passing every criterion.
    pub cases_passed: u64,
    /// Its thresholded metrics' verdicts.
    pub verdicts: Vec<MetricVerdict>,
    /// Its draws' agreement, when repeated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeats: Option<RepeatStats>,
}

/// The worst outcome of `outcomes`: a failure (a verdict on the model) before a run that
/// could not be evaluated, before warnings, before a pass.
pub fn worst_outcome(outcomes: impl IntoIterator<Item = Outcome>) -> Outcome {
    let severity = |o: Outcome| match o {
        Outcome::Fail => 3,
        Outcome::CouldNotEvaluate => 2,
        Outcome::PassWithWarnings => 1,
        Outcome::Pass => 0,
    };
    outcomes
        .into_iter()
        .max_by_key(|o| severity(*o))
        .unwrap_or(Outcome::CouldNotEvaluate)
}

/// The run folder of arm `name` under `root`.
pub fn arm_folder(root: &Path, name: &str) -> PathBuf {
    root.join(ARMS_DIR).join(name)
}

/// Make `root` ready for a run of `arms`: create it, refuse it when it holds anything
/// such a run does not write (another arm's folder included), and remove the root files
/// an earlier run left (`report.json` first). Each arm's folder is prepared by
/// [`super::RunFolder::prepare`].
pub fn prepare_root(root: &Path, arms: &[Arm]) -> Result<()> {
    std::fs::create_dir_all(root)
        .with_context(|| format!("creating the run folder {}", root.display()))?;
    let mut foreign = Vec::new();
    let mut leftovers = Vec::new();
    for entry in read_dir(root)? {
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && name == ARMS_DIR {
            for arm in read_dir(&root.join(ARMS_DIR))? {
                let arm = arm.file_name().to_string_lossy().into_owned();
                if !arms.iter().any(|a| a.name == arm) {
                    foreign.push(format!("{ARMS_DIR}/{arm}"));
                }
            }
        } else if !is_dir && (ROOT_FILES.contains(&name.as_str()) || name.starts_with(TEMP_PREFIX))
        {
            leftovers.push(name);
        } else {
            foreign.push(name);
        }
    }
    if !foreign.is_empty() {
        foreign.sort();
        return Err(InputError::file(
            root,
            format!(
                "not the folder of a run of these arms: it holds {}, which this run does not write; give a new or empty folder",
                foreign.join(", ")
            ),
        )
        .into());
    }
    super::folder::remove_leftovers(root, leftovers)
}

fn read_dir(dir: &Path) -> Result<Vec<std::fs::DirEntry>> {
    std::fs::read_dir(dir)
        .and_then(|entries| entries.collect())
        .with_context(|| format!("reading the run folder {}", dir.display()))
}

/// Write the root files of a run of `arms` (each already committed in its folder) and
/// commit them with the index `report.json`, written last. Returns the index.
pub fn commit_root(root: &Path, arms: &[(Arm, Run)]) -> Result<ArmsReport> {
    let first = &arms
        .first()
        .context("a run of arms needs at least one arm")?
        .1;
    let runs: Vec<(&str, &Run)> = arms.iter().map(|(a, r)| (a.name.as_str(), r)).collect();
    let files = [
        (SUMMARY_MD, render_arms_summary_md(&runs)),
        (METRICS_CSV, render_arms_metrics_csv(&runs)?),
        (JUNIT_XML, render_junit_arms(&first.meta.suite, &runs)),
    ];
    let mut manifest = BTreeMap::new();
    for (name, content) in &files {
        write_atomic(&root.join(name), content.as_bytes())?;
        manifest.insert(name.to_string(), sha256(content.as_bytes()));
    }
    for (arm, _) in arms {
        let relative = format!("{ARMS_DIR}/{}/{REPORT_JSON}", arm.name);
        let bytes = std::fs::read(root.join(&relative))
            .with_context(|| format!("reading {relative}, committed by its arm"))?;
        manifest.insert(relative, sha256(&bytes));
    }
    sync_dir(root)?;
    let index = ArmsReport {
        format: super::REPORT_FORMAT,
        kind: ARMS_KIND.into(),
        suite: first.meta.suite.clone(),
        suite_sha256: first.meta.suite_sha256.clone(),
        backend: first.meta.backend.clone(),
        outcome: worst_outcome(arms.iter().map(|(_, r)| r.gate.outcome)),
        arms: arms
            .iter()
            .map(|(arm, run)| ArmEntry {
                arm: arm.clone(),
                folder: format!("{ARMS_DIR}/{}", arm.name),
                draws: run.meta.draws,
                outcome: run.gate.outcome,
                cases: run.summary.cases,
                cases_passed: run.summary.cases_passed,
                verdicts: run.gate.verdicts.clone(),
                repeats: run.summary.repeats.clone(),
            })
            .collect(),
        files: manifest,
    };
    let text = serde_json::to_string_pretty(&index)? + "\n";
    write_atomic(&root.join(REPORT_JSON), text.as_bytes())?;
    sync_dir(root)?;
    Ok(index)
}

/// `metrics.csv` of the root: every arm's metric rows, an `arm` column first.
pub fn render_arms_metrics_csv(arms: &[(&str, &Run)]) -> Result<String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    for (i, (arm, run)) in arms.iter().enumerate() {
        let text = render_metrics_csv(run)?;
        let mut rows = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        for (j, row) in rows.records().enumerate() {
            let row = row?;
            if j == 0 {
                if i == 0 {
                    out.write_record(std::iter::once("arm").chain(row.iter()))?;
                }
                continue;
            }
            out.write_record(std::iter::once(*arm).chain(row.iter()))?;
        }
    }
    Ok(String::from_utf8(out.into_inner()?)?)
}

/// `summary.md` of the root: the overall verdict, then every thresholded metric with
/// each arm's value, interval and verdict side by side, the draws' agreement, and why
/// each failing arm failed.
pub fn render_arms_summary_md(arms: &[(&str, &Run)]) -> String {
    let mut md = String::new();
    let outcome = worst_outcome(arms.iter().map(|(_, r)| r.gate.outcome));
    let _ = writeln!(
        md,
        "# okla-eval gate: **{}** ({} decoding arms)\n",
        outcome.label(),
        arms.len()
    );
    let header: Vec<String> = arms.iter().map(|(a, _)| format!("`{a}`")).collect();
    let _ = writeln!(
        md,
        "| metric | rule | {} |\n|---|---|{}",
        header.join(" | "),
        "---|".repeat(arms.len())
    );
    for row in side_by_side(arms) {
        let _ = writeln!(md, "| {} |", row.join(" | "));
    }
    let _ = writeln!(md);
    for (arm, run) in arms {
        let _ = writeln!(
            md,
            "- `{arm}` ({}): **{}**, {} of {} answers passed every check; details in `{ARMS_DIR}/{arm}/{SUMMARY_MD}`",
            decoding_words(run),
            run.gate.outcome.label(),
            run.summary.cases_passed,
            run.summary.cases
        );
        if let Some(headline) = format::repeats_lines(run).first() {
            let _ = writeln!(md, "  - repeats: {headline}");
        }
        if let Some(note) = format::evidence_note(run) {
            let _ = writeln!(md, "  - **{note}**");
        }
        for v in run.gate.failures() {
            let _ = writeln!(md, "  - {}: {}", v.metric, v.explanation);
        }
    }
    md
}

/// The rows of the side-by-side table: metric, rule, then per arm `value [ci] VERDICT`.
pub fn side_by_side(arms: &[(&str, &Run)]) -> Vec<Vec<String>> {
    let Some((_, first)) = arms.first() else {
        return Vec::new();
    };
    first
        .gate
        .verdicts
        .iter()
        .map(|v| {
            let mut row = vec![v.metric.clone(), format::rule(v)];
            for (_, run) in arms {
                row.push(
                    match run.gate.verdicts.iter().find(|w| w.metric == v.metric) {
                        Some(w) => format!(
                            "{} {} {}",
                            format::value(&w.metric, w.value),
                            format::interval(&w.metric, w.ci95),
                            w.verdict
                        ),
                        None => "–".into(),
                    },
                );
            }
            row
        })
        .collect()
}

/// An arm's decoding in words: `greedy` or `temperature 0.3, top_p 0.9, repetition
/// penalty 1.15`, the grammar and the draws.
pub fn decoding_words(run: &Run) -> String {
    let d = &run.meta.decoding;
    let mut words = if d.is_greedy() {
        "greedy".to_string()
    } else {
        format!(
            "temperature {}, top_p {}, repetition penalty {}, seed {}",
            d.temperature, d.top_p, d.repetition_penalty, d.seed
        )
    };
    if !d.grammar.is_none() {
        let _ = write!(words, ", grammar {}", d.grammar.as_str());
    }
    if run.meta.draws > 1 {
        let _ = write!(words, ", {} draws per case", run.meta.draws);
    }
    words
}

fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}
