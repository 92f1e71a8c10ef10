//! The `partial.jsonl` journal: each case's answer, as a
//! [`PredictionLine`], appended as the case finishes, and read back (from there or from
//! `predictions.jsonl`) to resume a run.
//!
//! The journal is an append-only log, not a file replaced atomically: each line goes out
//! in one `write` call as soon as its case is done, so a run killed mid-way keeps every
//! finished case; a torn last line is tolerated by the reader.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::backend::Generation;
use crate::prediction::PredictionLine;

/// An open `partial.jsonl`: every recorded case reaches the OS before the next one starts.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
}

impl Journal {
    /// Open (creating folders and file as needed) for appending.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating folder {}", dir.display()))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening the journal {}", path.display()))?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Append one finished case as a whole line.
    pub fn record(&mut self, id: &str, generation: &Generation) -> Result<()> {
        let mut line = serde_json::to_vec(&PredictionLine::new(id, generation))?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.flush())
            .with_context(|| format!("appending to the journal {}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Timing;
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
    fn journal_appends_whole_lines_across_reopenings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/partial.jsonl");
        Journal::open(&path)
            .unwrap()
            .record("a", &sample(None))
            .unwrap();
        Journal::open(&path)
            .unwrap()
            .record("b", &sample(Some("timed out")))
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<PredictionLine> = PredictionLine::parse_all(&text, &path)
            .map(|(_, line)| line.unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].latency_s, Some(1.5));
        assert_eq!(lines[1].error.as_deref(), Some("timed out"));
    }
}
