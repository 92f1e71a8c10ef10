//! The learning-rate schedule: linear warmup then cosine decay to zero, as HF's
//! `get_cosine_schedule_with_warmup` (the rate for optimizer step `s`, counted
//! from 0, is `peak * lambda(s)`).

/// Warmup + cosine schedule over a fixed number of optimizer steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CosineSchedule {
    /// Peak learning rate.
    pub peak: f64,
    /// Warmup steps.
    pub warmup: u64,
    /// Total optimizer steps.
    pub total: u64,
}

impl CosineSchedule {
    /// A schedule with `ceil(warmup_ratio * total)` warmup steps (HF's rule).
    pub fn new(peak: f64, warmup_ratio: f64, total: u64) -> Self {
        Self {
            peak,
            warmup: (warmup_ratio * total as f64).ceil() as u64,
            total,
        }
    }

    /// The learning rate of optimizer step `step` (0-based).
    pub fn lr(&self, step: u64) -> f64 {
        if step < self.warmup {
            return self.peak * step as f64 / self.warmup.max(1) as f64;
        }
        let progress =
            (step - self.warmup) as f64 / (self.total.saturating_sub(self.warmup)).max(1) as f64;
        self.peak * (0.5 * (1.0 + (std::f64::consts::PI * progress).cos())).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_linearly_then_decays_to_zero() {
        let s = CosineSchedule::new(2e-4, 0.03, 100);
        assert_eq!(s.warmup, 3);
        assert_eq!(s.lr(0), 0.0);
        assert!((s.lr(1) - 2e-4 / 3.0).abs() < 1e-15);
        assert_eq!(s.lr(3), 2e-4);
        assert!((s.lr(3 + 97 / 2) - 1e-4).abs() < 2e-6);
        assert!(s.lr(99) < 1e-6 && s.lr(99) > 0.0);
        assert_eq!(s.lr(100), 0.0);
    }
}
