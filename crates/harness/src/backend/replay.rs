//! The replay backend: answers come from a predictions JSONL recorded anywhere.
//!
//! One object per line with the case id (`id` or `case_id`) and the raw model output
//! (`output`, `text` or `prediction`). A run's own `predictions.jsonl` has that shape,
//! so any run can be re-scored. Cases without a recorded answer fail as `missing`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Backend, BackendInfo, Capabilities, Generation, Progress, Prompt};
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

const ID_KEYS: [&str; 2] = ["id", "case_id"];
const OUTPUT_KEYS: [&str; 3] = ["output", "text", "prediction"];

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
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        match parse_prediction(raw, path, i + 1) {
            Ok((id, generation)) => {
                if answers.insert(id.clone(), generation).is_some() {
                    errors.push(InputError::at(
                        path,
                        i + 1,
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

fn parse_prediction(
    raw: &str,
    path: &Path,
    line: usize,
) -> Result<(String, Generation), InputError> {
    let value: Value = serde_json::from_str(raw)
        .map_err(|e| InputError::at(path, line, None, format!("not valid JSON: {e}")))?;
    let obj = value
        .as_object()
        .ok_or_else(|| InputError::at(path, line, None, "expected a JSON object"))?;
    let string_field = |keys: &[&'static str], missing: &str| match keys
        .iter()
        .find_map(|k| obj.get(*k).map(|v| (*k, v)))
    {
        Some((_, Value::String(s))) => Ok(s.clone()),
        Some((k, _)) => Err(InputError::at(
            path,
            line,
            Some(k.into()),
            "expected a string",
        )),
        None => Err(InputError::at(path, line, Some(keys[0].into()), missing)),
    };
    let id = string_field(&ID_KEYS, "missing field")?;
    let text = string_field(
        &OUTPUT_KEYS,
        "missing field (also accepted: text, prediction)",
    )?;
    let tokens = |k: &str| obj.get(k).and_then(Value::as_u64).map(|n| n as u32);
    Ok((
        id,
        Generation {
            text,
            prompt_tokens: tokens("prompt_tokens"),
            completion_tokens: tokens("completion_tokens"),
            finish_reason: obj
                .get("finish_reason")
                .and_then(Value::as_str)
                .map(str::to_string),
            timing: None,
            error: None,
        },
    ))
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
