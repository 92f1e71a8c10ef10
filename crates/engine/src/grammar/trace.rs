//! What the grammar cost one answer, token by token.

use std::time::Duration;

/// Per-token timings of the grammar in one answer, and how it ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MaskTrace {
    /// For each token sampled under a mask: the time computing that mask took.
    pub compute: Vec<Duration>,
    /// For each token sampled under a mask: how long the decoder, its logits ready,
    /// waited for the mask (the whole compute time when masks are not overlapped with
    /// the forward pass; near zero when the overlap hides them).
    pub wait: Vec<Duration>,
    /// Why the answer ended early when the grammar reached a state no token continues
    /// (a failure of the constraint, not of the model).
    pub dead_end: Option<String>,
}
