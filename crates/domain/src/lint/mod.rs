//! `okla-eval data lint`: check conversation files before training or gating.
//!
//! Errors (exit 1): lines that do not parse, bad role order, empty content,
//! assistant turns that are not JSON objects valid against the suite schema,
//! unknown intents, empty responses, echoed cédula/card numbers, identical
//! conversations in two files. Warnings: duplicate conversations inside a file,
//! user turns repeated in a conversation or shared between files, prices found
//! nowhere before the answer, forbidden legal phrases. Unreadable input is an
//! input error (exit 2).

mod checks;
mod dedupe;
mod finding;

use std::collections::HashSet;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::Value;

pub use finding::{Finding, Severity};

use self::dedupe::ParsedFile;
use self::finding::LineSink;
use okla_formats::error::InputError;
use okla_formats::text_file::read_text;
use okla_harness::score::{Checks, Origin};
use okla_harness::suite::{parse_line, Manifest, ModeMarker};

/// What answers are checked against: the suite's schema, intent labels and domain checks.
pub struct Rules {
    /// The gate's domain checks, as the suite configures them.
    pub checks: Checks,
    /// The suite's mode markers (the grounded checks read the context by mode).
    pub modes: Vec<ModeMarker>,
    /// The compiled response schema.
    pub validator: jsonschema::Validator,
    /// The answer field holding the intent (from the manifest).
    pub intent_field: Option<String>,
    /// The intent labels the schema allows (its `enum` for the intent field), if it lists them.
    pub intents: Option<HashSet<String>>,
}

impl Rules {
    /// Load the rules of the suite at `dir` (a folder with `suite.toml`, or the toml itself).
    pub fn from_suite(dir: &Path) -> Result<Rules> {
        let (dir, manifest_path) = if dir.is_dir() {
            (dir.to_path_buf(), dir.join("suite.toml"))
        } else {
            (
                dir.parent().unwrap_or(Path::new(".")).to_path_buf(),
                dir.to_path_buf(),
            )
        };
        let manifest = Manifest::parse(&read_text(&manifest_path)?, &manifest_path)?;
        let schema_path = dir.join(&manifest.schema);
        let schema: Value = serde_json::from_str(&read_text(&schema_path)?).map_err(|e| {
            InputError::at(&schema_path, e.line(), None, format!("not valid JSON: {e}"))
        })?;
        let checks = Checks::load(
            &manifest.checks,
            &manifest.modes,
            Origin {
                dir: &dir,
                manifest: &manifest_path,
            },
        )?;
        Rules::new(
            &schema,
            manifest.intent_field,
            checks,
            manifest.modes,
            &schema_path,
        )
    }

    /// Rules from a schema value, the intent field, the compiled domain checks and the
    /// suite's modes; `origin` names the schema in errors.
    pub fn new(
        schema: &Value,
        intent_field: Option<String>,
        checks: Checks,
        modes: Vec<ModeMarker>,
        origin: &Path,
    ) -> Result<Rules> {
        let validator = jsonschema::validator_for(schema)
            .map_err(|e| InputError::file(origin, format!("not a valid JSON Schema: {e}")))?;
        let intents = intent_field.as_ref().and_then(|f| {
            let labels = schema
                .pointer(&format!("/properties/{f}/enum"))?
                .as_array()?;
            Some(
                labels
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
            )
        });
        Ok(Rules {
            checks,
            modes,
            validator,
            intent_field,
            intents,
        })
    }
}

/// Per-file counts shown under the findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    /// Path as given.
    pub path: PathBuf,
    /// Conversations that parsed.
    pub conversations: usize,
    /// Assistant turns in them.
    pub assistant_turns: usize,
    /// Distinct user turns that occur more than once in this file.
    pub repeated_user_turns: usize,
}

/// Everything a lint run found.
#[derive(Debug, Clone)]
pub struct Report {
    /// Findings, by file order then line.
    pub findings: Vec<Finding>,
    /// One summary per file.
    pub files: Vec<FileSummary>,
}

impl Report {
    /// Number of findings of `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// The text `data lint` prints: one `file:line: severity: ...` line per
    /// finding, a summary per file, and the totals.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let _ = writeln!(out, "{f}");
        }
        for s in &self.files {
            let _ = writeln!(
                out,
                "{}: {} conversations, {} assistant turns, {} user turns repeated within the file",
                s.path.display(),
                s.conversations,
                s.assistant_turns,
                s.repeated_user_turns
            );
        }
        let _ = writeln!(
            out,
            "{} error(s), {} warning(s) in {} file(s)",
            self.count(Severity::Error),
            self.count(Severity::Warning),
            self.files.len()
        );
        out
    }
}

/// Lint `files` against `rules`. Fails (input error, exit 2) only when a file
/// cannot be read as UTF-8 text; everything else becomes a finding.
pub fn lint(files: &[PathBuf], rules: &Rules) -> Result<Report> {
    let mut findings = Vec::new();
    let mut parsed = Vec::with_capacity(files.len());
    for (file_index, path) in files.iter().enumerate() {
        let text = read_text(path)?;
        let mut conversations = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            if raw.trim().is_empty() {
                continue;
            }
            let mut sink = LineSink {
                findings: &mut findings,
                file_index,
                file: path,
                line: i + 1,
            };
            match parse_line(raw, path, i + 1) {
                Ok(conversation) => {
                    checks::check_conversation(&conversation, rules, &mut sink);
                    conversations.push(conversation);
                }
                Err(e) => sink.push(Severity::Error, e.field, e.message),
            }
        }
        parsed.push(ParsedFile {
            path: path.clone(),
            conversations,
        });
    }
    let repeated = dedupe::check_duplicates(&parsed, &mut findings);
    findings.sort();
    let files = parsed
        .iter()
        .zip(repeated)
        .map(|(p, repeated_user_turns)| FileSummary {
            path: p.path.clone(),
            conversations: p.conversations.len(),
            assistant_turns: p
                .conversations
                .iter()
                .map(|c| c.assistant_turns().count())
                .sum(),
            repeated_user_turns,
        })
        .collect();
    Ok(Report { findings, files })
}
