//! The replay backend: answers come from a predictions JSONL recorded anywhere.
//!
//! One object per line with the case id (`id` or `case_id`) and the raw model output
//! (`output`, `text` or `prediction`), read as a [`PredictionLine`]. A run's own
//! `predictions.jsonl` has that shape, so any run can be re-scored. Cases without a
//! recorded answer fail as `missing`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use sha2::{Digest, Sha256};

use super::{Backend, BackendInfo, Capabilities, Generation, Progress, Prompt};
use crate::prediction::PredictionLine;
use crate::suite::Decoding;
use okla_formats::error::{InputError, InputErrors};
use okla_formats::hash::hex;

/// The error text of a case that has no recorded prediction.
pub const MISSING_PREDICTION: &str = "no recorded prediction for this case";

/// Recorded answers keyed by case id.
#[derive(Debug, Clone)]
pub struct ReplayBackend {
    path: PathBuf,
    sha256: String,
    answers: HashMap<String, Generation>,
}

impl ReplayBackend {
    /// Read a predictions file; every malformed line is reported with file:line:field.
    pub fn open(path: &Path) -> Result<Self> {
        let bytes =
            std::fs::read(path).map_err(|e| InputError::file(path, format!("cannot read: {e}")))?;
        let text =
            std::str::from_utf8(&bytes).map_err(|_| InputError::file(path, "not valid UTF-8"))?;
        let answers = parse_predictions(text, path)?;
        Ok(Self {
            path: path.to_path_buf(),
            sha256: hex(&Sha256::digest(&bytes)),
            answers,
        })
    }

    /// Number of recorded answers.
    pub fn len(&self) -> usize {
        self.answers.len()
    }

    /// True when the file held no answers.
    pub fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }
}

fn parse_predictions(text: &str, path: &Path) -> Result<HashMap<String, Generation>, InputErrors> {
    let mut answers = HashMap::new();
    let mut errors = Vec::new();
    for (line, parsed) in PredictionLine::parse_all(text, path) {
        match parsed {
            Ok(recorded) => {
                let (id, generation) = recorded.into_generation();
                // Only the answer is replayed: the recorded run's timings and backend
                // error are not this run's.
                let generation = Generation {
                    timing: None,
                    error: None,
                    ..generation
                };
                if answers.insert(id.clone(), generation).is_some() {
                    errors.push(InputError::at(
                        path,
                        line,
                        Some("id".into()),
                        format!("case {id:?} is recorded twice"),
                    ));
                }
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(answers)
    } else {
        Err(InputErrors(errors))
    }
}

impl Backend for ReplayBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: "replay".into(),
            model: self.path.display().to_string(),
            model_sha256: Some(self.sha256.clone()),
            details: Default::default(),
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    fn generate(
        &mut self,
        prompts: &[Prompt<'_>],
        _decoding: &Decoding,
        progress: Progress<'_>,
    ) -> Result<Vec<Generation>> {
        let out = prompts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let g = self
                    .answers
                    .get(p.case_id)
                    .cloned()
                    .unwrap_or_else(|| Generation {
                        error: Some(MISSING_PREDICTION.into()),
                        ..Default::default()
                    });
                progress(i + 1);
                g
            })
            .collect();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_alternate_keys_and_flags_bad_lines() {
        let text = "{\"id\":\"a\",\"output\":\"x\"}\n{\"case_id\":\"b\",\"text\":\"y\"}\n{\"id\":\"c\"}\n{\"id\":\"a\",\"output\":\"z\"}\n";
        let errs = parse_predictions(text, Path::new("p.jsonl")).unwrap_err().0;
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].line, Some(3));
        assert!(errs[1].message.contains("twice"));
        let ok = parse_predictions("{\"case_id\":\"b\",\"text\":\"y\"}", Path::new("p")).unwrap();
        assert_eq!(ok["b"].text, "y");
    }
}
