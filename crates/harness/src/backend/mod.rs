//! Backends turn chat prompts into answers. Every backend implements [`Backend`]:
//! a batch of prompts in, one [`Generation`] per prompt out, with token counts and
//! timings where the backend knows them.
//!
//! Implementations: [`replay`] (recorded predictions JSONL), [`http`] (an
//! OpenAI-compatible server) and, with the feature `gguf`, `gguf` (the native engine).
//! Each hands every answer to an [`OnAnswer`] callback as soon as it is finished, which
//! is how the runner journals answers whatever the backend.
//!
//! A backend that fails gives no answer: one prompt's failure is that answer's
//! `Generation::error` (scored as `backend_error`; the run is then not evaluated), and a
//! failure of the whole backend is a [`BackendFailure`]. Neither is the model's fault.

#[cfg(feature = "gguf")]
pub mod gguf;
pub mod http;
pub mod replay;

use std::time::Duration;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::suite::{Conversation, Decoding, Message};
use okla_formats::progress::Progress;

/// What a backend can do beyond generating text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Generates several prompts per call more efficiently than one by one.
    pub batching: bool,
    /// Reports time to first token.
    pub streaming_timings: bool,
    /// Can compute teacher-forced loss (eval loss, perplexity).
    pub loss: bool,
    /// Real wall-clock latency is meaningful (false for replayed answers).
    pub latency: bool,
}

/// One prompt to answer.
#[derive(Debug, Clone, Copy)]
pub struct Prompt<'a> {
    /// The case id (stable across runs; replay looks answers up by it).
    pub case_id: &'a str,
    /// The conversation so far (system prompt and history).
    pub messages: &'a [Message],
}

/// Wall-clock timings of one generation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Time from request to the last token.
    pub total: Duration,
    /// Time from request to the first token, when the backend streams.
    pub first_token: Option<Duration>,
}

/// One answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    /// The raw text the model produced (empty when `error` is set).
    pub text: String,
    /// Prompt length in tokens, when known.
    pub prompt_tokens: Option<u32>,
    /// Generated tokens, when known.
    pub completion_tokens: Option<u32>,
    /// Why generation stopped (`stop`, `length`, ...), when known.
    pub finish_reason: Option<String>,
    /// Wall-clock timings, when meaningful.
    pub timing: Option<Timing>,
    /// The backend failed to produce an answer for this prompt (the case counts as failed).
    pub error: Option<String>,
}

/// Teacher-forced loss over the assistant tokens of a set of conversations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LossReport {
    /// Mean negative log-likelihood per assistant token (nats).
    pub mean_nll: f64,
    /// Number of assistant tokens scored.
    pub tokens: u64,
}

impl LossReport {
    /// exp(mean NLL).
    pub fn perplexity(&self) -> f64 {
        self.mean_nll.exp()
    }
}

/// Who answered: recorded in `report.json` so a run folder describes itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// Backend kind: `replay`, `gguf`, `http`.
    pub kind: String,
    /// The model (file path, server model name or predictions file).
    pub model: String,
    /// sha256 of the model file (or predictions file), when there is a file.
    pub model_sha256: Option<String>,
    /// Anything else worth recording (threads, endpoint, response_format, ...).
    #[serde(default)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl BackendInfo {
    /// The machine whose speed the run's timings measure, when the backend ran on this
    /// host and knows it: `CPU (ISA, N threads)` for the native engine. `None` for a
    /// server (its machine is not known here) and for replayed predictions.
    pub fn timed_on(&self) -> Option<String> {
        let detail = |key: &str| {
            self.details.get(key).map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        };
        let cpu = detail("cpu")?;
        let isa = detail("isa").unwrap_or_else(|| "ISA unknown".into());
        let threads = detail("threads").unwrap_or_else(|| "?".into());
        Some(format!("{cpu} ({isa}, {threads} threads)"))
    }

    /// Where answers come from, for messages: `http endpoint URL (model NAME)`, or the
    /// kind and the model (`gguf model FILE`).
    pub fn source(&self) -> String {
        match self
            .details
            .get("endpoint")
            .and_then(serde_json::Value::as_str)
        {
            Some(endpoint) => format!("{} endpoint {endpoint} (model {})", self.kind, self.model),
            None => format!("{} model {}", self.kind, self.model),
        }
    }
}

/// Called with each answer as soon as it is finished, from any thread: the prompt's index
/// and its answer. An `Err` (e.g. the answer could not be journaled) ends the run: the
/// backend sends no further prompt and returns that error.
pub type OnAnswer<'a> = &'a (dyn Fn(usize, &Generation) -> Result<()> + Sync);

/// The backend could not be used at all (the server is unreachable or not ready, the
/// engine failed outside one answer): the run cannot be evaluated. The binary exits 3
/// for it, apart from the model's failures (1) and the user's input errors (2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not evaluate: {backend}: {message}")]
pub struct BackendFailure {
    /// Which backend failed (its endpoint, or the model it runs).
    pub backend: String,
    /// What went wrong.
    pub message: String,
}

/// True when `err` (or anything in its cause chain) is a [`BackendFailure`].
pub fn is_backend_failure(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.is::<BackendFailure>())
}

/// A source of answers for suite prompts.
pub trait Backend {
    /// Who answers (recorded in reports).
    fn info(&self) -> BackendInfo;

    /// What the backend can measure.
    fn capabilities(&self) -> Capabilities;

    /// Answer every prompt (one [`Generation`] per prompt, same order), handing each
    /// answer to `on_answer` as it is finished. A failure of one prompt is reported in its
    /// `Generation::error`; `Err` means the whole run cannot go on.
    fn generate(
        &mut self,
        prompts: &[Prompt<'_>],
        decoding: &Decoding,
        on_answer: OnAnswer<'_>,
    ) -> Result<Vec<Generation>>;

    /// Teacher-forced loss on assistant tokens; `None` when the backend cannot compute it.
    /// `progress` counts conversations.
    fn eval_loss(
        &mut self,
        _conversations: &[Conversation],
        _progress: &dyn Progress,
    ) -> Result<Option<LossReport>> {
        Ok(None)
    }
}
