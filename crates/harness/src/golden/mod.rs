//! Golden snapshots and run-vs-run comparison.
//!
//! A snapshot records a run's metrics and, per case, whether it passed and its verdict
//! on each rate metric. `compare` reports per-metric deltas against tolerances (only
//! changes in the worse direction count as regressions), tests each rate's change on the
//! paired per-case verdicts (exact McNemar) so that a drop on a handful of cases is not
//! called a regression, and lists the cases that flipped from pass to fail.

mod compare;
mod layout;
mod paired;
mod snapshot;
mod tolerance;

pub use compare::{compare, CompareOptions, Comparison, MetricDelta, Status, DEFAULT_ALPHA};
pub use paired::Flips;
pub use snapshot::{
    bless, read_snapshot, snapshot_of_run_dir, CaseVerdicts, Snapshot, SNAPSHOT_FORMAT,
};
pub use tolerance::{default_tolerance, Tolerance};
