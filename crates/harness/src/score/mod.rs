//! Scoring: the failure taxonomy, per-answer scoring, domain checks and aggregation.

mod aggregate;
mod case;
mod checks;
mod classify;
mod field_probe;
mod fields;
mod mcnemar;
mod repeats;
mod stats;

pub use aggregate::{
    case_verdicts, check_metric_name, higher_is_better, is_rate, is_timing, summarize, Breakdown,
    CheckExample, CheckFailures, ClassCount, GroupRate, IntentStats, Metric, Summary, METRIC_NAMES,
    NO_INTENT, RATE_METRICS,
};
pub use case::{CaseResult, Scorer};
pub use checks::{
    contains_pii, find_amounts, group_thousands, Amount, BoundaryConfig, CheckOutcome,
    CheckResults, CheckVerdict, Checks, ChecksConfig, ContextConfig, Currency, LanguageConfig,
    LegalRefusalConfig, Lexicon, Mention, Origin, PriceDisclaimerConfig, PriceGroundingConfig,
    RequestKind, Scan, Turn, VehicleGroundingConfig, CHECK_NAMES, FIGURE_NAMES,
};
pub use classify::{classify, FailureClass, Parsed};
pub use fields::{field_problems, has_type, required_fields, RequiredField};
pub use mcnemar::mcnemar_p_value;
pub use repeats::{FlakyCase, RepeatStats};
pub use stats::{mean, percentile, Rate};
