//! Dataset tools: the synthetic OKLA generator ([`synth`]) and the linter ([`lint`]).

pub mod intent;
pub mod synth;
