//! A grammar compiled once (per schema and model) and started afresh for every answer.

use std::time::Duration;

use llguidance::toktrie::SimpleVob;
use llguidance::{Matcher, TokenParser};

use super::constraint::Constraint;

/// A compiled grammar in its start state.
pub struct CompiledGrammar {
    parser: TokenParser,
    stop: SimpleVob,
    compiled_in: Duration,
    warnings: Vec<String>,
}

impl std::fmt::Debug for CompiledGrammar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledGrammar")
            .field("compiled_in", &self.compiled_in)
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

impl CompiledGrammar {
    /// Wraps a fresh parser that took `compiled_in` to build.
    pub(super) fn new(mut parser: TokenParser, compiled_in: Duration) -> Self {
        let warnings = parser.grammar_warnings();
        let stop = parser.token_env.tok_trie().eos_token_set();
        Self {
            parser,
            stop,
            compiled_in,
            warnings,
        }
    }

    /// How long compiling took.
    pub fn compiled_in(&self) -> Duration {
        self.compiled_in
    }

    /// What llguidance could only approximate (e.g. `oneOf` compiled as `anyOf`): an
    /// answer may then satisfy the grammar yet not the schema.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The constraint of one new answer. Clones share the parser's lexer cache, so
    /// later answers find its states already built.
    pub fn start(&self) -> Constraint {
        Constraint::new(Matcher::new(Ok(self.parser.clone())), self.stop.clone())
    }
}
