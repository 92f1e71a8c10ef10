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
}

impl Default for Decoding {
    fn default() -> Self {
        Self {
            max_new_tokens: 600,
            temperature: 0.0,
            top_p: 1.0,
            repetition_penalty: 1.0,
            seed: 42,
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
        }
    }

    /// True when decoding is deterministic (greedy).
    pub fn is_greedy(&self) -> bool {
        self.temperature <= 0.0
    }
}
