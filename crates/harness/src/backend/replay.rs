//! The replay backend: answers come from a predictions JSONL recorded anywhere.
//!
//! One object per line with the case id (`id` or `case_id`) and the raw model output
//! (`output`, `text` or `prediction`), read as a [`PredictionLine`]. A run's own
//! `predictions.jsonl` has that shape, so any run can be re-scored.
//!
//! The file is read for one suite: a line whose id is not one of the suite's cases is an
//! input error naming its line (the file belongs to another suite, or its ids are
//! misspelled), and so is a case to score that has no line — a verdict needs an answer
//! to every case, never a silent "empty". A line recording a backend error (a run that
//! could not be evaluated) has no answer to replay, and is an input error too.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::Result;
use sha2::{Digest, Sha256};

use super::{Backend, BackendInfo, Capabilities, Generation, OnAnswer, Prompt};
use crate::prediction::PredictionLine;
use crate::suite::{Decoding, Suite};
use okla_formats::error::{InputError, InputErrors};
use okla_formats::hash::hex;
use okla_formats::text_file::decode_text;

/// How many missing case ids an error lists.
const LISTED_MISSING: usize = 5;

/// Recorded answers keyed by case id.
#[derive(Debug, Clone)]
pub struct ReplayBackend {
    path: PathBuf,
    sha256: String,
    answers: HashMap<String, Generation>,
}

impl ReplayBackend {
    /// Read the predictions file `path` recorded for `suite`; every malformed line, and
    /// every line whose id is not a case of `suite`, is reported with file:line:field.
    pub fn open(path: &Path, suite: &Suite) -> Result<Self> {
        let bytes =
            std::fs::read(path).map_err(|e| InputError::file(path, format!("cannot read: {e}")))?;
        let sha256 = hex(&Sha256::digest(&bytes));
        let text = decode_text(bytes, path)?;
        let case_ids: HashSet<&str> = suite.cases.iter().map(|c| c.id.as_str()).collect();
        let answers = parse_predictions(&text, path, &case_ids, &suite.manifest.name)?;
        Ok(Self {
            path: path.to_path_buf(),
            sha256,
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

fn parse_predictions(
    text: &str,
    path: &Path,
    case_ids: &HashSet<&str>,
    suite: &str,
) -> Result<HashMap<String, Generation>, InputErrors> {
    let mut answers = HashMap::new();
    let mut errors = Vec::new();
    for (line, parsed) in PredictionLine::parse_all(text, path) {
        let recorded = match parsed {
            Ok(recorded) => recorded,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let (id, generation) = recorded.into_generation();
        let at = |message: String| InputError::at(path, line, Some("id".into()), message);
        if !case_ids.contains(id.as_str()) {
            errors.push(at(format!(
                "case {id:?} is not in suite {suite:?} (were these answers recorded for another suite?)"
            )));
            continue;
        }
        if let Some(error) = &generation.error {
            errors.push(InputError::at(
                path,
                line,
                Some("error".into()),
                format!("case {id:?} has no answer to replay: the recorded run's backend failed ({error}); resume that run instead"),
            ));
            continue;
        }
        // Only the answer is replayed: the recorded run's timings are not this run's.
        let generation = Generation {
            timing: None,
            ..generation
        };
        if answers.insert(id.clone(), generation).is_some() {
            errors.push(at(format!("case {id:?} is recorded twice")));
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

    /// Every prompt's recorded answer; a prompt without one is an input error (the file
    /// does not cover the cases to score), raised before any answer is handed on.
    fn generate(
        &mut self,
        prompts: &[Prompt<'_>],
        _decoding: &Decoding,
        on_answer: OnAnswer<'_>,
    ) -> Result<Vec<Generation>> {
        let missing: Vec<&str> = prompts
            .iter()
            .map(|p| p.case_id)
            .filter(|id| !self.answers.contains_key(*id))
            .collect();
        if !missing.is_empty() {
            let shown: Vec<&str> = missing.iter().take(LISTED_MISSING).copied().collect();
            return Err(InputError::file(
                &self.path,
                format!(
                    "no answer for {} of the {} cases to score (e.g. {}): a verdict needs an answer to every case",
                    missing.len(),
                    prompts.len(),
                    shown.join(", ")
                ),
            )
            .into());
        }
        prompts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let answer = self.answers[p.case_id].clone();
                on_answer(i, &answer)?;
                Ok(answer)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<HashMap<String, Generation>, InputErrors> {
        let ids: HashSet<&str> = ["a", "b", "c"].into();
        parse_predictions(text, Path::new("p.jsonl"), &ids, "s")
    }

    #[test]
    fn accepts_alternate_keys_and_flags_bad_lines() {
        let text = "{\"id\":\"a\",\"output\":\"x\"}\n{\"case_id\":\"b\",\"text\":\"y\"}\n{\"id\":\"c\"}\n{\"id\":\"a\",\"output\":\"z\"}\n";
        let errs = parse(text).unwrap_err().0;
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].line, Some(3));
        assert!(errs[1].message.contains("twice"));
        let ok = parse("{\"case_id\":\"b\",\"text\":\"y\"}").unwrap();
        assert_eq!(ok["b"].text, "y");
    }

    #[test]
    fn a_recorded_outage_is_no_answer_to_replay() {
        let errs = parse("{\"id\":\"a\",\"output\":\"\",\"error\":\"HTTP 500: boom\"}\n")
            .unwrap_err()
            .0;
        assert_eq!(
            (errs[0].line, errs[0].field.as_deref()),
            (Some(1), Some("error"))
        );
        assert!(
            errs[0].message.contains("backend failed (HTTP 500: boom)"),
            "{}",
            errs[0]
        );
    }

    #[test]
    fn ids_of_another_suite_are_located() {
        let errs =
            parse("{\"id\":\"a\",\"output\":\"x\"}\n\n{\"id\":\"other:1:0\",\"output\":\"y\"}\n")
                .unwrap_err()
                .0;
        assert_eq!(errs.len(), 1);
        assert_eq!(
            (errs[0].line, errs[0].field.as_deref()),
            (Some(3), Some("id"))
        );
        assert!(
            errs[0]
                .message
                .contains("\"other:1:0\" is not in suite \"s\""),
            "{}",
            errs[0]
        );
    }
}
