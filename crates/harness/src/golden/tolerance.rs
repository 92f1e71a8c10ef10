//! How far a metric may move in the worse direction before it counts as a regression.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::score::is_rate;

/// An allowed worsening: absolute (`0.01`) or relative to the baseline (`20%`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tolerance {
    /// The value may worsen by at most this much.
    Absolute(f64),
    /// The value may worsen by at most this fraction of the baseline.
    Relative(f64),
}

impl Tolerance {
    /// The largest allowed worsening from `baseline`.
    pub fn allowance(&self, baseline: f64) -> f64 {
        match *self {
            Tolerance::Absolute(a) => a,
            Tolerance::Relative(r) => r * baseline.abs(),
        }
    }

    /// Parse `0.01` (absolute) or `20%` (relative).
    pub fn parse(s: &str) -> Result<Tolerance, String> {
        let s = s.trim();
        let (number, relative) = match s.strip_suffix('%') {
            Some(n) => (n, true),
            None => (s, false),
        };
        let v: f64 = number
            .parse()
            .map_err(|_| format!("tolerance {s:?} is not a number or a percentage"))?;
        if !v.is_finite() || v < 0.0 {
            return Err(format!("tolerance {s:?} must be a non-negative number"));
        }
        Ok(if relative {
            Tolerance::Relative(v / 100.0)
        } else {
            Tolerance::Absolute(v)
        })
    }
}

impl fmt::Display for Tolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tolerance::Absolute(a) => write!(f, "{a}"),
            Tolerance::Relative(r) => write!(f, "{}%", r * 100.0),
        }
    }
}

/// The default tolerance: one point for rates, 0.02 for loss, 5% for perplexity,
/// 25% for latency and throughput (timings are noisy).
pub fn default_tolerance(metric: &str) -> Tolerance {
    match metric {
        "eval_loss" => Tolerance::Absolute(0.02),
        "perplexity" => Tolerance::Relative(0.05),
        m if is_rate(m) => Tolerance::Absolute(0.01),
        _ => Tolerance::Relative(0.25),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms() {
        assert_eq!(Tolerance::parse("0.02"), Ok(Tolerance::Absolute(0.02)));
        assert_eq!(Tolerance::parse("20%"), Ok(Tolerance::Relative(0.2)));
        assert!(Tolerance::parse("-1").is_err());
        assert!(Tolerance::parse("lots").is_err());
        assert_eq!(
            Tolerance::Relative(0.1).allowance(-3.0),
            0.30000000000000004
        );
    }
}
