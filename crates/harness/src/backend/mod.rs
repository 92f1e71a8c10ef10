//! Backends turn chat prompts into answers. Every backend implements [`Backend`]:
//! a batch of prompts in, one [`Generation`] per prompt out, with token counts and
//! timings where the backend knows them.
//!
//! Implementations: [`replay`] (recorded predictions JSONL). The native GGUF engine
//! and the OpenAI-compatible HTTP backend plug in through the same trait.

#[cfg(feature = "gguf")]
pub mod gguf;
pub mod http;
pub mod replay;

use std::time::Duration;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::suite::{Conversation, Decoding, Message};

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

/// Called after each finished prompt with the number finished so far (drives progress bars).
pub type Progress<'a> = &'a (dyn Fn(usize) + Sync);

/// A source of answers for suite prompts.
pub trait Backend {
    /// Who answers (recorded in reports).
    fn info(&self) -> BackendInfo;

    /// What the backend can measure.
    fn capabilities(&self) -> Capabilities;

    /// Answer every prompt (one [`Generation`] per prompt, same order). A failure of one
    /// prompt is reported in its `Generation::error`; `Err` means the whole run cannot go on.
    fn generate(
        &mut self,
        prompts: &[Prompt<'_>],
        decoding: &Decoding,
        progress: Progress<'_>,
    ) -> Result<Vec<Generation>>;

    /// Teacher-forced loss on assistant tokens; `None` when the backend cannot compute it.
    fn eval_loss(&mut self, _conversations: &[Conversation]) -> Result<Option<LossReport>> {
        Ok(None)
    }
}
