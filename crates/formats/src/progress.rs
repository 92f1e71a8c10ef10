//! How long work reports progress without printing: library code calls a
//! [`Progress`] it is handed, and only the binary decides how that looks (a bar on a
//! terminal, a line every few seconds in a log). [`NoProgress`] ignores everything.
//!
//! ```
//! use okla_formats::progress::{NoProgress, Progress};
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! fn work(progress: &dyn Progress) {
//!     progress.start(3, "items");
//!     for _ in 0..3 {
//!         progress.advance(1);
//!     }
//!     progress.note("all 3 items done");
//!     progress.finish();
//! }
//! work(&NoProgress);
//!
//! // Any `Fn(u64)` closure is a `Progress` that only counts.
//! let done = AtomicU64::new(0);
//! work(&|n: u64| {
//!     done.fetch_add(n, Ordering::Relaxed);
//! });
//! assert_eq!(done.load(Ordering::Relaxed), 3);
//! ```

/// Receives the progress of one piece of long work at a time, from any thread.
/// Every method but [`Progress::advance`] does nothing unless implemented.
pub trait Progress: Send + Sync {
    /// Work of `total` units starts (replacing any unfinished one); `label` names it
    /// ("generating", "tensors", "steps").
    fn start(&self, total: u64, label: &str) {
        let _ = (total, label);
    }

    /// `n` more units are done.
    fn advance(&self, n: u64);

    /// What is in work now (a tensor's name, the latest loss), shown beside the
    /// count until the next message.
    fn message(&self, text: &str) {
        let _ = text;
    }

    /// A one-off line worth keeping ("resumed from … (step 40)", "step 100: eval
    /// loss 1.2345").
    fn note(&self, text: &str) {
        let _ = text;
    }

    /// The work started last is over.
    fn finish(&self) {}
}

/// A [`Progress`] that ignores every report.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn advance(&self, _n: u64) {}
}

impl<F: Fn(u64) + Send + Sync> Progress for F {
    fn advance(&self, n: u64) {
        self(n)
    }
}
