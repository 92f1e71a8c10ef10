//! The run folder's journal, `partial.jsonl`: every answer, as a [`PredictionLine`],
//! appended the moment its case is finished, whatever the backend — so a run killed
//! mid-way (kill -9, a crash, an outage) keeps every finished case, and
//! [`answered_cases`] reads them back for `--resume`.
//!
//! The journal is an append-only log, not a file replaced atomically: each line goes out
//! in one `write` call as soon as its case is done; a torn last line is tolerated by the
//! reader. It starts as a whole file, though: [`Journal::create`] writes the answers a
//! resumed run reuses atomically, so resuming into the very folder being resumed never
//! has a moment without them.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};

use crate::backend::Generation;
use crate::prediction::{PredictionLine, PREDICTIONS_JSONL};
use okla_formats::atomic::write_atomic;
use okla_formats::error::{InputError, InputErrors};

/// The journal's file name in a run folder.
pub const JOURNAL_FILE: &str = "partial.jsonl";

/// An open `partial.jsonl`: every recorded case reaches the OS before `record` returns.
/// Shared by the threads of a backend (`record` takes `&self`).
#[derive(Debug)]
pub struct Journal {
    file: Mutex<File>,
    path: PathBuf,
}

impl Journal {
    /// Replace `path` (atomically) by a journal holding `seed` — the answers an earlier
    /// run gave, when resuming — and open it for appending.
    pub fn create<'a>(
        path: &Path,
        seed: impl IntoIterator<Item = (&'a str, &'a Generation)>,
    ) -> Result<Self> {
        let mut text = Vec::new();
        for (id, generation) in seed {
            text.extend(line(id, generation)?);
        }
        write_atomic(path, &text)?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .with_context(|| format!("opening the journal {}", path.display()))?;
        Ok(Self {
            file: Mutex::new(file),
            path: path.to_path_buf(),
        })
    }

    /// Append one finished case as a whole line.
    pub fn record(&self, id: &str, generation: &Generation) -> Result<()> {
        let line = line(id, generation)?;
        let mut file = self
            .file
            .lock()
            .map_err(|_| anyhow::anyhow!("a thread panicked while journaling"))?;
        file.write_all(&line)
            .and_then(|()| file.flush())
            .with_context(|| format!("appending to the journal {}", self.path.display()))
    }

    /// Where the journal is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The journal line of `generation` for case `id`, newline included.
fn line(id: &str, generation: &Generation) -> Result<Vec<u8>> {
    let mut line = serde_json::to_vec(&PredictionLine::new(id, generation))?;
    line.push(b'\n');
    Ok(line)
}

/// Cases of an earlier run (folder `run_dir`) that got an answer without error, by case
/// id, from its `predictions.jsonl` (once the run finished) and its journal (while it
/// ran, or where it stopped). Malformed lines are input errors naming file, line and
/// field; only the journal's last line may be torn (a run killed mid-write), and is then
/// ignored.
pub fn answered_cases(run_dir: &Path) -> Result<HashMap<String, Generation>> {
    let mut answered = HashMap::new();
    let mut errors = Vec::new();
    let mut found = false;
    for (name, tolerate_torn_tail) in [(PREDICTIONS_JSONL, false), (JOURNAL_FILE, true)] {
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
            format!("not a run folder to resume: it holds neither {PREDICTIONS_JSONL} nor {JOURNAL_FILE}"),
        )
        .into());
    }
    if errors.is_empty() {
        Ok(answered)
    } else {
        Err(InputErrors(errors).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Timing;
    use std::fs;
    use std::time::Duration;

    fn sample(error: Option<&str>) -> Generation {
        Generation {
            text: "{\"intent\":\"Greeting\"}".into(),
            prompt_tokens: Some(40),
            completion_tokens: Some(9),
            finish_reason: Some("stop".into()),
            timing: Some(Timing {
                total: Duration::from_millis(1500),
                first_token: Some(Duration::from_millis(250)),
            }),
            error: error.map(str::to_string),
        }
    }

    #[test]
    fn a_journal_starts_from_its_seed_and_appends_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/partial.jsonl");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, "{\"id\":\"stale\",\"output\":\"\"}\n").unwrap();
        let seed = sample(None);
        let journal = Journal::create(&path, [("a", &seed)]).unwrap();
        journal.record("b", &sample(Some("timed out"))).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<PredictionLine> = PredictionLine::parse_all(&text, &path)
            .map(|(_, line)| line.unwrap())
            .collect();
        let ids: Vec<&str> = lines.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"], "the stale line is gone");
        assert_eq!(lines[0].latency_s, Some(1.5));
        assert_eq!(lines[1].error.as_deref(), Some("timed out"));
    }

    #[test]
    fn answered_cases_merge_both_files_and_skip_errors() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(PREDICTIONS_JSONL),
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
            dir.path().join(PREDICTIONS_JSONL),
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

    #[test]
    fn a_folder_without_predictions_is_an_input_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = answered_cases(dir.path()).unwrap_err();
        assert!(okla_formats::error::is_input_error(&err));
        assert!(err.to_string().contains("not a run folder"));
    }
}
