//! The grammar's state during one answer: which tokens may come next, and the token
//! that came.

use anyhow::{anyhow, Result};
use llguidance::toktrie::SimpleVob;
use llguidance::Matcher;

/// The constraint on one answer.
pub struct Constraint {
    matcher: Matcher,
    stop: SimpleVob,
}

impl std::fmt::Debug for Constraint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Constraint")
            .field("stopped", &self.matcher.is_stopped())
            .finish_non_exhaustive()
    }
}

/// The tokens allowed at one step.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenMask(SimpleVob);

impl std::fmt::Debug for TokenMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenMask({} allowed)", self.0.num_set())
    }
}

impl TokenMask {
    /// True when `token` may come next.
    pub fn allows(&self, token: u32) -> bool {
        (token as usize) < self.0.len() && self.0.is_allowed(token)
    }

    /// How many tokens may come next.
    pub fn count(&self) -> usize {
        self.0.num_set()
    }

    /// Sets the logit of every token not allowed (and of any logit beyond the
    /// vocabulary) to −∞, so the sampler can only choose an allowed token.
    pub fn apply(&self, logits: &mut [f32]) {
        let words = self.0.as_slice();
        for (i, chunk) in logits.chunks_mut(32).enumerate() {
            let bits = words.get(i).copied().unwrap_or(0);
            if bits == u32::MAX && chunk.len() == 32 {
                continue;
            }
            for (bit, logit) in chunk.iter_mut().enumerate() {
                if bits & (1 << bit) == 0 {
                    *logit = f32::NEG_INFINITY;
                }
            }
        }
    }
}

impl Constraint {
    pub(super) fn new(matcher: Matcher, stop: SimpleVob) -> Self {
        Self { matcher, stop }
    }

    /// The tokens allowed next. Once the grammar is complete (an object's closing brace
    /// came: nothing can extend it) only the stop tokens are; where the answer may end or
    /// go on, the stop tokens are allowed with the rest. An error means the grammar
    /// reached a state no token continues (it says why).
    pub fn mask(&mut self) -> Result<TokenMask> {
        if self.matcher.is_stopped() {
            return Ok(TokenMask(self.stop.clone()));
        }
        let mask = self.matcher.compute_mask()?;
        if mask.is_zero() {
            return Err(anyhow!("the grammar allows no token here"));
        }
        Ok(TokenMask(mask))
    }

    /// Advances the grammar past `token` (one its last mask allowed).
    pub fn commit(&mut self, token: u32) -> Result<()> {
        self.matcher.consume_token(token)
    }
}
