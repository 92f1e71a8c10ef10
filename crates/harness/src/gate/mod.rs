//! The gate: thresholds, per-metric verdicts with explanations, the overall
//! outcome and its exit code (0 pass, 1 fail, 3 could not evaluate; warnings still
//! exit 0).

mod evaluate;
mod threshold;

pub use evaluate::{evaluate, Evidence, GateResult, MetricVerdict, Outcome};
pub use threshold::{check_threshold, Direction, Threshold, Verdict};
