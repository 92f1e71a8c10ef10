//! The gate: thresholds, per-metric verdicts with explanations, the overall
//! outcome and its exit code (0 pass, 1 fail; warnings still exit 0).

mod evaluate;
mod threshold;

pub use evaluate::{evaluate, GateResult, MetricVerdict, Outcome};
pub use threshold::{Direction, Threshold, Verdict};
