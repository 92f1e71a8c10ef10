//! The per-case record of a run, as one JSON line: written to the `partial.jsonl`
//! journal as each case finishes, and read back (from there or from `predictions.jsonl`)
//! to resume a run.
//!
//! The journal is an append-only log, not a file replaced atomically: each line goes out
//! in one `write` call as soon as its case is done, so a run killed mid-way keeps every
//! finished case; a torn last line is tolerated by the reader.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::backend::{Generation, Timing};

/// One case's answer as a JSON line (`predictions.jsonl` / `partial.jsonl` shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionLine {
    /// Case id.
    pub id: String,
    /// Raw model output (empty when `error` is set).
    pub output: String,
    /// Prompt tokens, per the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<u32>,
    /// Generated tokens, per the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_tokens: Option<u32>,
    /// Why generation stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// Total time of the answer in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_s: Option<f64>,
    /// Time to first token in seconds (streamed answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_s: Option<f64>,
    /// Why there is no answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl PredictionLine {
    /// The line recording `generation` for case `id`.
    pub fn new(id: &str, generation: &Generation) -> Self {
        Self {
            id: id.to_string(),
            output: generation.text.clone(),
            prompt_tokens: generation.prompt_tokens,
            completion_tokens: generation.completion_tokens,
            finish_reason: generation.finish_reason.clone(),
            latency_s: generation.timing.map(|t| t.total.as_secs_f64()),
            ttft_s: generation
                .timing
                .and_then(|t| t.first_token)
                .map(|d| d.as_secs_f64()),
            error: generation.error.clone(),
        }
    }

    /// Back to a [`Generation`]; `Err` names the field holding an impossible duration.
    pub fn into_generation(self) -> Result<(String, Generation), &'static str> {
        let seconds = |v: Option<f64>, field| {
            v.map(|s| Duration::try_from_secs_f64(s).map_err(|_| field))
                .transpose()
        };
        let total = seconds(self.latency_s, "latency_s")?;
        let first_token = seconds(self.ttft_s, "ttft_s")?;
        let generation = Generation {
            text: self.output,
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.completion_tokens,
            finish_reason: self.finish_reason,
            timing: total.map(|total| Timing { total, first_token }),
            error: self.error,
        };
        Ok((self.id, generation))
    }
}

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
    use proptest::prelude::*;

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
        let lines: Vec<PredictionLine> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].latency_s, Some(1.5));
        assert_eq!(lines[1].error.as_deref(), Some("timed out"));
    }

    #[test]
    fn impossible_durations_are_named() {
        let mut line = PredictionLine::new("a", &sample(None));
        line.ttft_s = Some(-1.0);
        assert_eq!(line.into_generation().unwrap_err(), "ttft_s");
    }

    proptest! {
        #[test]
        fn line_round_trips(
            text in ".{0,40}",
            tokens in prop::option::of(0u32..100_000),
            millis in prop::option::of(0u64..10_000_000),
            error in prop::option::of("[a-z ]{1,20}"),
        ) {
            let generation = Generation {
                text,
                prompt_tokens: tokens,
                completion_tokens: tokens,
                finish_reason: None,
                timing: millis.map(|m| Timing { total: Duration::from_millis(m), first_token: None }),
                error,
            };
            let json = serde_json::to_string(&PredictionLine::new("case", &generation)).unwrap();
            let back: PredictionLine = serde_json::from_str(&json).unwrap();
            let (id, again) = back.into_generation().unwrap();
            prop_assert_eq!(id, "case");
            prop_assert_eq!(again, generation);
        }
    }
}
