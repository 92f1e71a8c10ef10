//! Constrained decoding: at every step a grammar (from a JSON Schema) says which tokens
//! may come next, the others' logits become −∞ before the sampler runs, and the chosen
//! token advances the grammar. Once the answer's JSON value is closed only the stop
//! tokens remain, so a constrained answer always ends on one complete value.
//!
//! The grammar engine is [llguidance](https://github.com/guidance-ai/llguidance), the
//! library llama.cpp (`%llguidance`), vLLM and SGLang use for structured outputs: an
//! Earley parser over lexemes matched by derivative-based regular expressions, walking
//! the vocabulary's token trie once per mask, about 50 µs a token on a 128k vocabulary.
//! It compiles JSON Schema itself (no hand-written GBNF), and its masks are exact: a
//! token is allowed iff some continuation of the answer through it satisfies the grammar.
//!
//! - [`GrammarVocab`] is a model's vocabulary for grammars, built once per model;
//! - [`CompiledGrammar`] is a schema compiled against it, started once per answer;
//! - [`Constraint`] is one answer's state: [`Constraint::mask`], [`Constraint::commit`];
//! - [`MaskTrace`] is what the grammar cost an answer, per token;
//! - `masking` supplies an answer's masks, on the decoding thread or ahead of it.
//!
//! [`crate::session::Session::generate`] runs the constraint (see [`Constrained`]).

mod byte_level;
mod compiled;
mod constraint;
pub(crate) mod masking;
mod trace;
mod vocab;

#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use compiled::CompiledGrammar;
pub use constraint::{Constraint, TokenMask};
pub use trace::MaskTrace;
pub use vocab::{gguf_token_bytes, spm_token_bytes, token_bytes, GrammarVocab, JSON_WHITESPACE};

/// How a generation is constrained.
#[derive(Debug, Clone)]
pub struct Constrained {
    /// The grammar every answer must follow.
    pub grammar: Arc<CompiledGrammar>,
    /// Commit each token and compute the next mask on a helper thread while the model's
    /// forward pass runs, instead of after it: the decoder then hardly waits for masks
    /// (docs/engine.md, "Constrained decoding", has the measurements).
    pub overlap: bool,
}
