//! Token-length summaries: percentiles, the recommended `max_seq_len`, truncation counts.

use serde::Serialize;

/// `max_seq_len` recommendations are multiples of this (what GPU kernels like).
pub const SEQ_LEN_MULTIPLE: usize = 64;

/// Min, mean, percentiles and max of a set of token lengths.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LengthSummary {
    /// Shortest.
    pub min: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Median (nearest rank).
    pub p50: usize,
    /// 90th percentile (nearest rank).
    pub p90: usize,
    /// 95th percentile (nearest rank).
    pub p95: usize,
    /// 99th percentile (nearest rank).
    pub p99: usize,
    /// Longest.
    pub max: usize,
    /// Sum of all lengths.
    pub total: u64,
}

/// How many conversations a `max_seq_len` cuts short.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Truncation {
    /// The sequence length limit.
    pub max_seq_len: usize,
    /// Conversations longer than the limit.
    pub truncated: usize,
    /// `truncated` as a fraction of all conversations (0..1).
    pub fraction: f64,
}

impl LengthSummary {
    /// Summarise lengths (any order); `None` when there are none.
    pub fn new(lengths: &[usize]) -> Option<Self> {
        let mut sorted = lengths.to_vec();
        sorted.sort_unstable();
        let total: u64 = sorted.iter().map(|&l| l as u64).sum();
        Some(Self {
            min: *sorted.first()?,
            mean: total as f64 / sorted.len() as f64,
            p50: nearest_rank(&sorted, 50),
            p90: nearest_rank(&sorted, 90),
            p95: nearest_rank(&sorted, 95),
            p99: nearest_rank(&sorted, 99),
            max: *sorted.last()?,
            total,
        })
    }

    /// The smallest multiple of [`SEQ_LEN_MULTIPLE`] that holds the P95 length.
    pub fn recommended_max_seq_len(&self) -> usize {
        self.p95.div_ceil(SEQ_LEN_MULTIPLE).max(1) * SEQ_LEN_MULTIPLE
    }
}

/// The nearest-rank percentile of sorted, non-empty values: the smallest value with
/// at least `percent`% of the values at or below it.
fn nearest_rank(sorted: &[usize], percent: usize) -> usize {
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// Count the lengths above `max_seq_len`.
pub fn truncation(lengths: &[usize], max_seq_len: usize) -> Truncation {
    let truncated = lengths.iter().filter(|&&l| l > max_seq_len).count();
    Truncation {
        max_seq_len,
        truncated,
        fraction: if lengths.is_empty() {
            0.0
        } else {
            truncated as f64 / lengths.len() as f64
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let lengths: Vec<usize> = (1..=100).rev().collect();
        let s = LengthSummary::new(&lengths).unwrap();
        assert_eq!(
            (s.min, s.p50, s.p90, s.p95, s.p99, s.max),
            (1, 50, 90, 95, 99, 100)
        );
        assert_eq!(s.mean, 50.5);
        assert_eq!(s.total, 5050);
        let one = LengthSummary::new(&[7]).unwrap();
        assert_eq!((one.p50, one.p99), (7, 7));
        assert!(LengthSummary::new(&[]).is_none());
    }

    #[test]
    fn recommendation_rounds_p95_up_to_64() {
        let at = |p95: usize| {
            LengthSummary::new(&[p95; 20])
                .unwrap()
                .recommended_max_seq_len()
        };
        assert_eq!(at(2850), 2880);
        assert_eq!(at(2880), 2880);
        assert_eq!(at(2881), 2944);
        assert_eq!(at(1), 64);
    }

    #[test]
    fn truncation_counts_strictly_longer() {
        let t = truncation(&[2048, 2049, 10, 5000], 2048);
        assert_eq!((t.truncated, t.fraction), (2, 0.5));
        assert_eq!(truncation(&[], 64).fraction, 0.0);
    }

    proptest! {
        #[test]
        fn summary_is_ordered_and_p95_is_covered(lengths in prop::collection::vec(0usize..100_000, 1..300)) {
            let s = LengthSummary::new(&lengths).unwrap();
            prop_assert!(s.min <= s.p50 && s.p50 <= s.p90 && s.p90 <= s.p95);
            prop_assert!(s.p95 <= s.p99 && s.p99 <= s.max);
            let rec = s.recommended_max_seq_len();
            prop_assert!(rec.is_multiple_of(SEQ_LEN_MULTIPLE) && rec >= s.p95 && rec < s.p95 + SEQ_LEN_MULTIPLE + 1);
            prop_assert!(truncation(&lengths, rec).fraction <= 0.05 + 1e-9);
        }
    }
}
