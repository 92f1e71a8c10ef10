//! okla-domain: the OKLA domain tools: statistics ([`stats`]), the synthetic OKLA generator ([`synth`]),
//! the linter ([`lint`]) and the intent labels they share ([`intent`]).

#![warn(missing_docs)]

pub mod intent;
pub mod lint;
pub mod stats;
pub mod synth;
