//! Resuming a run: read what an earlier run folder already answered, and generate only
//! the rest.
//!
//! A run folder holds `predictions.jsonl` once the run finished and the `partial.jsonl`
//! journal while it runs (see [`super::journal`]); both are read, and a case counts as
//! answered when either holds a line for it without an `error`.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Result;

use super::journal::PredictionLine;
use crate::backend::{Backend, Generation, Progress, Prompt};
use crate::error::{InputError, InputErrors};
use crate::suite::Decoding;

/// The predictions a finished run writes.
pub const PREDICTIONS_FILE: &str = "predictions.jsonl";
/// The journal a run appends to as cases finish.
pub const JOURNAL_FILE: &str = "partial.jsonl";

/// Cases of an earlier run (folder `run_dir`) that got an answer without error, by case id.
/// Malformed lines are input errors naming file, line and field; only the journal's last
/// line may be torn (a run killed mid-write), and is then ignored.
pub fn answered_cases(run_dir: &Path) -> Result<HashMap<String, Generation>> {
    let mut answered = HashMap::new();
    let mut errors = Vec::new();
    let mut found = false;
    for (name, tolerate_torn_tail) in [(PREDICTIONS_FILE, false), (JOURNAL_FILE, true)] {
        let path = run_dir.join(name);
        let text = match std::fs::read(&path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(InputError::file(&path, format!("cannot read: {e}")).into()),
        };
        found = true;
        let torn_tail = tolerate_torn_tail && !text.is_empty() && !text.ends_with('\n');
        let lines: Vec<&str> = text.lines().collect();
        for (i, raw) in lines.iter().enumerate() {
            if raw.trim().is_empty() {
                continue;
            }
            match parse_line(raw, &path, i + 1) {
                Ok((id, generation)) if generation.error.is_none() => {
                    answered.insert(id, generation);
                }
                Ok(_) => {}
                Err(_) if torn_tail && i + 1 == lines.len() => {}
                Err(e) => errors.push(e),
            }
        }
    }
    if !found {
        return Err(InputError::file(
            run_dir,
            format!("not a run folder to resume: it holds neither {PREDICTIONS_FILE} nor {JOURNAL_FILE}"),
        )
        .into());
    }
    if errors.is_empty() {
        Ok(answered)
    } else {
        Err(InputErrors(errors).into())
    }
}

fn parse_line(raw: &str, path: &Path, line: usize) -> Result<(String, Generation), InputError> {
    let record: PredictionLine = serde_json::from_str(raw).map_err(|e| {
        let message = format!("not a prediction line: {e}");
        InputError::at(path, line, None, message)
    })?;
    record.into_generation().map_err(|field| {
        InputError::at(
            path,
            line,
            Some(field.into()),
            "expected a duration in seconds ≥ 0",
        )
    })
}

/// Generate answers for the prompts missing from `answered` only, and return every
/// prompt's answer in prompt order (earlier answers reused as they were).
pub fn generate_resuming(
    backend: &mut dyn Backend,
    prompts: &[Prompt<'_>],
    decoding: &Decoding,
    answered: &HashMap<String, Generation>,
    progress: Progress<'_>,
) -> Result<Vec<Generation>> {
    let todo: Vec<Prompt<'_>> = prompts
        .iter()
        .filter(|p| !answered.contains_key(p.case_id))
        .copied()
        .collect();
    let reused = prompts.len() - todo.len();
    progress(reused);
    let offset_progress = |done: usize| progress(reused + done);
    let mut fresh = backend
        .generate(&todo, decoding, &offset_progress)?
        .into_iter();
    prompts
        .iter()
        .map(|p| match answered.get(p.case_id) {
            Some(g) => Ok(g.clone()),
            None => fresh
                .next()
                .ok_or_else(|| anyhow::anyhow!("the backend returned fewer answers than prompts")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn answered_cases_merge_both_files_and_skip_errors() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(PREDICTIONS_FILE),
            "{\"id\":\"a\",\"output\":\"A\",\"latency_s\":1.25,\"score\":{\"json\":true}}\n{\"id\":\"b\",\"output\":\"\",\"error\":\"timed out\"}\n",
        )
        .unwrap();
        fs::write(
            dir.path().join(JOURNAL_FILE),
            "{\"id\":\"c\",\"output\":\"C\",\"completion_tokens\":4}\n{\"id\":\"d\",\"outp",
        )
        .unwrap();
        let answered = answered_cases(dir.path()).unwrap();
        let mut ids: Vec<&str> = answered.keys().map(String::as_str).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["a", "c"]);
        assert_eq!(answered["a"].timing.unwrap().total.as_millis(), 1250);
        assert_eq!(answered["c"].completion_tokens, Some(4));
    }

    #[test]
    fn malformed_lines_are_located() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(PREDICTIONS_FILE),
            "{\"id\":\"a\"}\nnot json\n{\"id\":\"b\",\"output\":\"\",\"latency_s\":-2}\n",
        )
        .unwrap();
        let err = answered_cases(dir.path()).unwrap_err();
        let errors = &err.downcast_ref::<InputErrors>().unwrap().0;
        assert_eq!(
            errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            [Some(1), Some(2), Some(3)]
        );
        assert!(errors[0].message.contains("output"));
        assert_eq!(errors[2].field.as_deref(), Some("latency_s"));
    }

    #[test]
    fn a_folder_without_predictions_is_an_input_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = answered_cases(dir.path()).unwrap_err();
        assert!(crate::error::is_input_error(&err));
        assert!(err.to_string().contains("not a run folder"));
    }
}
