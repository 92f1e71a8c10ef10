//! Scoring: the failure taxonomy, per-answer scoring, domain checks and aggregation.

mod aggregate;
mod case;
mod checks;
mod classify;
mod field_probe;
mod fields;
mod stats;

pub use aggregate::{
    check_metric_name, higher_is_better, is_rate, summarize, Breakdown, ClassCount, IntentStats,
    Metric, Summary, METRIC_NAMES, NO_INTENT,
};
pub use case::{CaseResult, Scorer};
pub use checks::{contains_pii, group_thousands, CheckResults, Checks, ChecksConfig, CHECK_NAMES};
pub use classify::{classify, FailureClass, Parsed};
pub use fields::{field_problems, has_type, required_fields, RequiredField};
pub use stats::{mean, percentile, Rate};
