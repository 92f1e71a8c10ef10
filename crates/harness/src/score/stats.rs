//! Small statistics: Wilson score intervals for rates, and percentiles.

use serde::{Deserialize, Serialize};

/// z for a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;

/// A proportion with its 95% Wilson score interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    /// Cases that satisfied the criterion.
    pub successes: u64,
    /// Cases it applies to.
    pub n: u64,
}

impl Rate {
    /// successes / n (`None` when n is 0).
    pub fn value(&self) -> Option<f64> {
        (self.n > 0).then(|| self.successes as f64 / self.n as f64)
    }

    /// The 95% Wilson score interval (`None` when n is 0).
    pub fn wilson(&self) -> Option<(f64, f64)> {
        if self.n == 0 {
            return None;
        }
        let n = self.n as f64;
        let p = self.successes as f64 / n;
        let z2 = Z95 * Z95;
        let denom = 1.0 + z2 / n;
        let centre = (p + z2 / (2.0 * n)) / denom;
        let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
        Some(((centre - half).max(0.0), (centre + half).min(1.0)))
    }

    /// Count the `Some` entries, `true` ones as successes.
    pub fn from_options(values: impl IntoIterator<Item = Option<bool>>) -> Rate {
        values
            .into_iter()
            .flatten()
            .fold(Rate { successes: 0, n: 0 }, |r, ok| Rate {
                successes: r.successes + u64::from(ok),
                n: r.n + 1,
            })
    }
}

/// The `q`-th percentile (0..=100) by linear interpolation between closest ranks.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64))
}

/// Arithmetic mean (`None` when empty).
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_known_values() {
        // Reference: 8/10 → (0.4902, 0.9433); 0/10 → (0, 0.2775).
        let (lo, hi) = Rate {
            successes: 8,
            n: 10,
        }
        .wilson()
        .unwrap();
        assert!(
            (lo - 0.4902).abs() < 1e-4 && (hi - 0.9433).abs() < 1e-4,
            "{lo} {hi}"
        );
        let (lo, hi) = Rate {
            successes: 0,
            n: 10,
        }
        .wilson()
        .unwrap();
        assert!(lo == 0.0 && (hi - 0.2775).abs() < 1e-4, "{lo} {hi}");
        assert_eq!(Rate { successes: 0, n: 0 }.wilson(), None);
    }

    #[test]
    fn percentiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&v, 50.0), Some(2.5));
        assert_eq!(percentile(&v, 100.0), Some(4.0));
        assert_eq!(percentile(&[], 95.0), None);
    }
}
