//! The gate: thresholds, per-metric verdicts, the overall outcome and its exit code.

mod threshold;

pub use threshold::{Direction, Threshold, Verdict};
