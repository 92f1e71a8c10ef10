//! Decoding settings: how a backend turns a prompt into an answer (greedy for gating,
//! or OKLA's production sampling). Shared by every backend and the engine's sampler.

use serde::{Deserialize, Serialize};

/// Decoding settings for generation. Greedy (temperature 0) is the gating default.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Decoding {
    /// Maximum number of new tokens per answer.
    pub max_new_tokens: u32,
    /// Sampling temperature; 0 means greedy.
    pub temperature: f32,
    /// Nucleus sampling mass.
    pub top_p: f32,
    /// Repetition penalty (1.0 = off).
    pub repetition_penalty: f32,
    /// RNG seed for sampled decoding.
    pub seed: u64,
    /// What constrains the tokens while they are generated (none by default).
    #[serde(skip_serializing_if = "Grammar::is_none")]
    pub grammar: Grammar,
}

/// What constrains an answer while it is generated: nothing, any JSON object, or the
/// suite's JSON Schema (llama.cpp's `json_schema`, OpenAI's `response_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grammar {
    /// Unconstrained: the model may write anything.
    #[default]
    None,
    /// One JSON object, of any shape.
    Json,
    /// One JSON object that satisfies the suite's response schema.
    Schema,
}

impl Grammar {
    /// Every grammar, in the order `--grammar` lists them.
    pub const ALL: [Grammar; 3] = [Grammar::Schema, Grammar::Json, Grammar::None];

    /// True when nothing constrains the answer.
    pub fn is_none(&self) -> bool {
        *self == Grammar::None
    }

    /// The name used on the command line and in reports (`none`, `json`, `schema`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Grammar::None => "none",
            Grammar::Json => "json",
            Grammar::Schema => "schema",
        }
    }
}

impl Default for Decoding {
    fn default() -> Self {
        Self {
            max_new_tokens: 600,
            temperature: 0.0,
            top_p: 1.0,
            repetition_penalty: 1.0,
            seed: 42,
            grammar: Grammar::None,
        }
    }
}

impl Decoding {
    /// OKLA's production settings (docs/domain.md): temperature 0.3, top_p 0.9, repetition penalty 1.15.
    pub fn production() -> Self {
        Self {
            max_new_tokens: 600,
            temperature: 0.3,
            top_p: 0.9,
            repetition_penalty: 1.15,
            seed: 42,
            grammar: Grammar::None,
        }
    }

    /// True when decoding is deterministic (greedy).
    pub fn is_greedy(&self) -> bool {
        self.temperature <= 0.0
    }
}
