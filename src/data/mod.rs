//! Dataset tools: statistics ([`stats`]), the synthetic OKLA generator ([`synth`]),
//! the linter ([`lint`]) and the intent labels they share ([`intent`]).

pub mod intent;
pub mod lint;
pub mod stats;
pub mod synth;
