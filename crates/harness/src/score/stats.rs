//! Small statistics: Wilson score intervals for rates (plain, and corrected for
//! clustering by the design effect), and percentiles.

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
        (self.n > 0).then(|| wilson_at(self.successes as f64 / self.n as f64, self.n as f64))
    }

    /// The 95% Wilson interval of this rate when its verdicts come in clusters that are
    /// not independent (the turns of one conversation, the draws of one case):
    /// `clusters` holds each cluster's (successes, n), summing to this rate.
    ///
    /// The design effect: the cluster-robust variance of the proportion,
    /// `m/(m−1) · Σ_j (s_j − p·n_j)² / n²` over the `m` clusters, divided by the variance
    /// `p(1−p)/n` independent verdicts would have, shrinks `n` to the effective sample
    /// size `n / deff` the Wilson interval is computed at. `deff` is taken as at least
    /// 1 (clustering never narrows an interval). When every verdict agrees (all pass, or
    /// all fail) there is no spread to estimate it from, and each cluster counts as one
    /// verdict (`n_eff = m`, the most a cluster can be worth); one cluster keeps `n`.
    pub fn clustered_wilson(&self, clusters: &[(u64, u64)]) -> Option<(f64, f64)> {
        if self.n == 0 {
            return None;
        }
        let n = self.n as f64;
        let p = self.successes as f64 / n;
        let m = clusters.len() as f64;
        let srs = p * (1.0 - p) / n;
        let effective = if clusters.len() <= 1 {
            n
        } else if srs == 0.0 {
            m.min(n)
        } else {
            let spread: f64 = clusters
                .iter()
                .map(|&(s, k)| (s as f64 - p * k as f64).powi(2))
                .sum();
            n / (m / (m - 1.0) * spread / (n * n) / srs).max(1.0)
        };
        Some(wilson_at(p, effective))
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

/// The 95% Wilson score interval of proportion `p` observed on (an effective) `n`.
fn wilson_at(p: f64, n: f64) -> (f64, f64) {
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
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
    fn clustering_widens_the_interval_to_that_of_the_clusters() {
        // 20 conversations, 12 passing and 8 failing on all of their 5 verdicts: the 100
        // verdicts carry the evidence of 20, and the interval says so (n_eff = 19: the
        // m/(m-1) small-sample factor), while the plain one pretends there are 100.
        let clusters: Vec<(u64, u64)> = (0..20).map(|j| (if j < 12 { 5 } else { 0 }, 5)).collect();
        let pooled = Rate {
            successes: 60,
            n: 100,
        };
        let (lo, hi) = pooled.clustered_wilson(&clusters).unwrap();
        let (lo19, hi19) = wilson_at(0.6, 19.0);
        assert!(
            (lo - lo19).abs() < 1e-12 && (hi - hi19).abs() < 1e-12,
            "{lo} {hi}"
        );
        let (plain_lo, plain_hi) = pooled.wilson().unwrap();
        assert!(
            hi - lo > 2.0 * (plain_hi - plain_lo),
            "{lo} {hi} vs {plain_lo} {plain_hi}"
        );
        // Reference: Wilson 12/20 = (0.3866, 0.7812); n_eff 19 is a little wider.
        assert!(
            lo < 0.3866 && hi > 0.7812 && lo > 0.37 && hi < 0.80,
            "{lo} {hi}"
        );
    }

    #[test]
    fn independent_verdicts_keep_the_plain_interval() {
        // One verdict per cluster: deff = m/(m-1), at least 1 and close to it.
        let clusters: Vec<(u64, u64)> = (0..200).map(|j| (u64::from(j % 4 != 0), 1)).collect();
        let rate = Rate {
            successes: 150,
            n: 200,
        };
        let (lo, hi) = rate.clustered_wilson(&clusters).unwrap();
        let (plain_lo, plain_hi) = rate.wilson().unwrap();
        assert!(lo <= plain_lo && hi >= plain_hi);
        assert!((lo - plain_lo).abs() < 2e-3 && (hi - plain_hi).abs() < 2e-3);
        // Clusters that disagree less than chance never narrow it; all-pass is untouched.
        let alternating: Vec<(u64, u64)> = (0..50).map(|_| (1, 2)).collect();
        let half = Rate {
            successes: 50,
            n: 100,
        };
        assert_eq!(half.clustered_wilson(&alternating), half.wilson());
        // Agreement everywhere tells nothing of the correlation: a cluster is one verdict.
        let all = Rate {
            successes: 10,
            n: 10,
        };
        let two = Rate { successes: 2, n: 2 }.wilson();
        assert_eq!(all.clustered_wilson(&[(5, 5), (5, 5)]), two);
        assert_eq!(all.clustered_wilson(&[(10, 10)]), all.wilson());
    }

    #[test]
    fn percentiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&v, 50.0), Some(2.5));
        assert_eq!(percentile(&v, 100.0), Some(4.0));
        assert_eq!(percentile(&[], 95.0), None);
    }
}
