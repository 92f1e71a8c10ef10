//! Where one answer's masks come from, and what they cost it. Each token chosen is
//! committed before the next mask is computed, either on the decoding thread when the
//! logits need it ([`Inline`]), or on a helper thread started for the answer, which
//! commits each token and computes the next mask while the forward pass of that token
//! runs ([`Ahead`]; the first mask while the prompt runs).

use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread::Scope;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};

use super::{Constraint, MaskTrace, TokenMask};

/// A mask (or why there is none) and the time computing it took.
type Computed = (Result<TokenMask>, Duration);

/// A supply of masks for one answer.
pub(crate) trait MaskSource {
    /// The token chosen: the grammar advances past it before the next mask.
    fn advance(&mut self, token: u32);
    /// The next mask, its compute time, and how long the caller waited for it.
    fn next(&mut self) -> (Computed, Duration);
}

/// Masks computed on the decoding thread, when asked for.
pub(crate) struct Inline {
    constraint: Constraint,
    chosen: Option<u32>,
}

impl Inline {
    pub(crate) fn new(constraint: Constraint) -> Self {
        Self {
            constraint,
            chosen: None,
        }
    }
}

impl MaskSource for Inline {
    fn advance(&mut self, token: u32) {
        self.chosen = Some(token);
    }

    fn next(&mut self) -> (Computed, Duration) {
        let computed = compute(&mut self.constraint, self.chosen.take());
        let wait = computed.1;
        (computed, wait)
    }
}

/// Masks computed ahead on a helper thread of `scope`, which ends when this is dropped.
pub(crate) struct Ahead {
    chosen: Sender<u32>,
    masks: Receiver<Computed>,
}

impl Ahead {
    /// Starts the helper; it computes the first mask at once.
    pub(crate) fn spawn<'scope>(scope: &'scope Scope<'scope, '_>, constraint: Constraint) -> Self {
        let (chosen, tokens) = channel::<u32>();
        let (done, masks) = channel();
        scope.spawn(move || {
            let mut constraint = constraint;
            let mut token = None;
            loop {
                if done.send(compute(&mut constraint, token)).is_err() {
                    return;
                }
                match tokens.recv() {
                    Ok(t) => token = Some(t),
                    Err(_) => return,
                }
            }
        });
        Self { chosen, masks }
    }
}

impl MaskSource for Ahead {
    fn advance(&mut self, token: u32) {
        // A helper gone away shows as the next mask's error.
        let _ = self.chosen.send(token);
    }

    fn next(&mut self) -> (Computed, Duration) {
        let start = Instant::now();
        let computed = self.masks.recv().unwrap_or_else(|_| {
            (
                Err(anyhow!("the grammar's helper thread ended")),
                Duration::ZERO,
            )
        });
        (computed, start.elapsed())
    }
}

/// Commits `chosen` (if any), then computes the next mask; both timed together.
fn compute(constraint: &mut Constraint, chosen: Option<u32>) -> Computed {
    let start = Instant::now();
    let mask = match chosen {
        Some(t) => constraint
            .commit(t)
            .map_err(|e| e.context(format!("token {t}")))
            .and_then(|()| constraint.mask()),
        None => constraint.mask(),
    };
    (mask, start.elapsed())
}

/// One answer's masks and their trace.
pub(crate) struct Masking<'a> {
    source: Box<dyn MaskSource + 'a>,
    trace: MaskTrace,
}

impl<'a> Masking<'a> {
    pub(crate) fn new(source: impl MaskSource + 'a) -> Self {
        Self {
            source: Box::new(source),
            trace: MaskTrace::default(),
        }
    }

    /// Masks `logits` with the next mask; false when the grammar allows no token (the
    /// dead end is recorded).
    pub(crate) fn restrict(&mut self, logits: &mut [f32]) -> bool {
        let ((mask, compute), wait) = self.source.next();
        self.trace.compute.push(compute);
        self.trace.wait.push(wait);
        match mask {
            Ok(mask) => {
                mask.apply(logits);
                true
            }
            Err(e) => {
                self.trace.dead_end = Some(format!("{e:#}"));
                false
            }
        }
    }

    /// The token chosen.
    pub(crate) fn advance(&mut self, token: u32) {
        self.source.advance(token);
    }

    /// What the masks cost the answer.
    pub(crate) fn into_trace(self) -> MaskTrace {
        self.trace
    }
}
