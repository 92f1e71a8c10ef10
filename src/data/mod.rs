//! Dataset tools: the synthetic OKLA generator ([`synth`]), the linter ([`lint`])
//! and the intent labels both share ([`intent`]).

pub mod intent;
pub mod lint;
pub mod synth;
