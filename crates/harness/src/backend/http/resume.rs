//! Resuming a run: read what an earlier run folder already answered, and generate only
//! the rest.
//!
//! A run folder holds `predictions.jsonl` once the run finished and the `partial.jsonl`
//! journal while it runs (see [`super::journal`]); both are read, and a case counts as
//! answered when either holds a line for it without an `error`. [`Resuming`] wraps any
//! backend so that a run sends only the cases still missing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::json;

use crate::backend::{
    Backend, BackendInfo, Capabilities, Generation, LossReport, Progress, Prompt,
};
use crate::prediction::{PredictionLine, PREDICTIONS_JSONL as PREDICTIONS_FILE};
use crate::suite::{Conversation, Decoding};
use okla_formats::error::{InputError, InputErrors};

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
        let last_line = text.lines().count();
        for (line, parsed) in PredictionLine::parse_all(&text, &path) {
            match parsed.map(PredictionLine::into_generation) {
                Ok((id, generation)) if generation.error.is_none() => {
                    answered.insert(id, generation);
                }
                Ok(_) => {}
                Err(_) if torn_tail && line == last_line => {}
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

/// A backend that answers the cases an earlier run already answered from that run's
/// record and sends only the rest to the backend it wraps. Wrap the backend before the
/// run: `Resuming::new(backend, answered_cases(run_dir)?, run_dir)`.
pub struct Resuming<B> {
    inner: B,
    answered: HashMap<String, Generation>,
    resumed_from: PathBuf,
}

impl<B: Backend> Resuming<B> {
    /// Reuse `answered` (from [`answered_cases`] of `resumed_from`) in front of `inner`.
    pub fn new(inner: B, answered: HashMap<String, Generation>, resumed_from: &Path) -> Self {
        Self {
            inner,
            answered,
            resumed_from: resumed_from.to_path_buf(),
        }
    }
}

impl<B: Backend> Backend for Resuming<B> {
    fn info(&self) -> BackendInfo {
        let mut info = self.inner.info();
        let from = self.resumed_from.display().to_string();
        info.details.insert("resumed_from".into(), json!(from));
        info.details
            .insert("resumable_cases".into(), json!(self.answered.len()));
        info
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    /// The prompts missing from the earlier run go to the wrapped backend; every prompt's
    /// answer comes back in prompt order, earlier answers as they were recorded.
    fn generate(
        &mut self,
        prompts: &[Prompt<'_>],
        decoding: &Decoding,
        progress: Progress<'_>,
    ) -> Result<Vec<Generation>> {
        let todo: Vec<Prompt<'_>> = prompts
            .iter()
            .filter(|p| !self.answered.contains_key(p.case_id))
            .copied()
            .collect();
        let reused = prompts.len() - todo.len();
        progress(reused);
        let offset_progress = |done: usize| progress(reused + done);
        let mut fresh = self
            .inner
            .generate(&todo, decoding, &offset_progress)?
            .into_iter();
        prompts
            .iter()
            .map(|p| match self.answered.get(p.case_id) {
                Some(g) => Ok(g.clone()),
                None => fresh.next().ok_or_else(|| {
                    anyhow::anyhow!("the backend returned fewer answers than prompts")
                }),
            })
            .collect()
    }

    fn eval_loss(&mut self, conversations: &[Conversation]) -> Result<Option<LossReport>> {
        self.inner.eval_loss(conversations)
    }
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
        assert_eq!(errors[0].field.as_deref(), Some("output"));
        assert_eq!(errors[2].field.as_deref(), Some("latency_s"));
    }

    /// Answers each prompt with its case id and remembers what it was asked.
    struct Echo(Vec<String>);

    impl Backend for Echo {
        fn info(&self) -> BackendInfo {
            BackendInfo {
                kind: "echo".into(),
                model: "echo".into(),
                model_sha256: None,
                details: Default::default(),
            }
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::default()
        }
        fn generate(
            &mut self,
            prompts: &[Prompt<'_>],
            _: &Decoding,
            progress: Progress<'_>,
        ) -> Result<Vec<Generation>> {
            self.0.extend(prompts.iter().map(|p| p.case_id.to_string()));
            progress(prompts.len());
            Ok(prompts
                .iter()
                .map(|p| Generation {
                    text: format!("fresh {}", p.case_id),
                    ..Generation::default()
                })
                .collect())
        }
    }

    #[test]
    fn resuming_sends_only_missing_cases_and_keeps_prompt_order() {
        let answered: HashMap<String, Generation> = ["b", "d"]
            .iter()
            .map(|id| {
                (
                    id.to_string(),
                    Generation {
                        text: format!("old {id}"),
                        ..Generation::default()
                    },
                )
            })
            .collect();
        let mut backend = Resuming::new(Echo(Vec::new()), answered, Path::new("runs/earlier"));
        let ids = ["a", "b", "c", "d"];
        let prompts: Vec<Prompt<'_>> = ids
            .iter()
            .map(|id| Prompt {
                case_id: id,
                messages: &[],
            })
            .collect();
        let seen = std::sync::Mutex::new(Vec::new());
        let out = backend
            .generate(&prompts, &Decoding::default(), &|n| {
                seen.lock().unwrap().push(n)
            })
            .unwrap();
        let texts: Vec<&str> = out.iter().map(|g| g.text.as_str()).collect();
        assert_eq!(texts, ["fresh a", "old b", "fresh c", "old d"]);
        assert_eq!(backend.inner.0, ["a", "c"]);
        assert_eq!(*seen.lock().unwrap(), [2, 4]);
        assert_eq!(backend.info().details["resumed_from"], "runs/earlier");
    }

    #[test]
    fn a_folder_without_predictions_is_an_input_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = answered_cases(dir.path()).unwrap_err();
        assert!(okla_formats::error::is_input_error(&err));
        assert!(err.to_string().contains("not a run folder"));
    }
}
