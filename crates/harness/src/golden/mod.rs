//! Golden snapshots and run-vs-run comparison.
//!
//! A snapshot records a run's metrics and which cases passed. `compare` reports
//! per-metric deltas against tolerances (only changes in the worse direction
//! count as regressions) and the cases that flipped from pass to fail.

mod compare;
mod snapshot;
mod tolerance;

pub use compare::{compare, render_comparison, Comparison, MetricDelta, Status};
pub use snapshot::{bless, read_snapshot, snapshot_of_run_dir, Snapshot, SNAPSHOT_FORMAT};
pub use tolerance::{default_tolerance, Tolerance};
