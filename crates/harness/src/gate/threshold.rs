//! Thresholds: an `acceptable` bound (the gate), an optional `ideal` bound,
//! a direction (higher-is-better `min` or lower-is-better `max`) and a
//! `critical` flag (critical misses fail the gate, others only warn).
//!
//! In `suite.toml`: `json_valid = { min = 0.85, ideal = 0.95, critical = true }`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::score::{check_metric_name, is_rate};

/// Which side of the bound is good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The value must be at least the bound (rates, accuracies).
    Min,
    /// The value must be at most the bound (loss, perplexity, latency).
    Max,
}

/// A metric's acceptance rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawThreshold", into = "RawThreshold")]
pub struct Threshold {
    /// Which side of the bounds is good.
    pub direction: Direction,
    /// The gate bound: beyond it the metric fails.
    pub acceptable: f64,
    /// The aspiration bound: reaching it earns `IDEAL`.
    pub ideal: Option<f64>,
    /// A critical failure fails the gate; a non-critical one only warns.
    pub critical: bool,
}

/// The verdict on one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// Beyond the acceptable bound.
    Fail,
    /// The backend could not measure it (e.g. loss with the replay backend).
    NotMeasured,
    /// Within the acceptable bound.
    Pass,
    /// Within the ideal bound too.
    Ideal,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Fail => "FAIL",
            Verdict::NotMeasured => "N/A",
            Verdict::Pass => "PASS",
            Verdict::Ideal => "IDEAL",
        })
    }
}

impl Threshold {
    /// A higher-is-better rule.
    pub fn min(acceptable: f64, ideal: Option<f64>, critical: bool) -> Self {
        Self {
            direction: Direction::Min,
            acceptable,
            ideal,
            critical,
        }
    }

    /// A lower-is-better rule.
    pub fn max(acceptable: f64, ideal: Option<f64>, critical: bool) -> Self {
        Self {
            direction: Direction::Max,
            acceptable,
            ideal,
            critical,
        }
    }

    /// True when `value` is on the good side of `bound` (bounds are inclusive).
    pub fn satisfies(&self, value: f64, bound: f64) -> bool {
        match self.direction {
            Direction::Min => value >= bound,
            Direction::Max => value <= bound,
        }
    }

    /// Judge a measured value (`None`: not measured).
    pub fn judge(&self, value: Option<f64>) -> Verdict {
        match value {
            None => Verdict::NotMeasured,
            Some(v) if v.is_nan() || !self.satisfies(v, self.acceptable) => Verdict::Fail,
            Some(v) if self.ideal.is_some_and(|ideal| self.satisfies(v, ideal)) => Verdict::Ideal,
            Some(_) => Verdict::Pass,
        }
    }

    /// Check the bounds are finite and the ideal is on the good side of the acceptable one.
    pub fn validate(&self) -> Result<(), String> {
        if !self.acceptable.is_finite() {
            return Err("the bound must be a finite number".into());
        }
        if let Some(ideal) = self.ideal {
            if !ideal.is_finite() || !self.satisfies(ideal, self.acceptable) {
                return Err(format!(
                    "ideal {ideal} must be at least as strict as the acceptable bound {}",
                    self.acceptable
                ));
            }
        }
        Ok(())
    }

    /// The bound written as a comparison, e.g. `≥ 0.85` or `≤ 1.5`.
    pub fn describe_bound(&self, bound: f64) -> String {
        match self.direction {
            Direction::Min => format!("≥ {bound}"),
            Direction::Max => format!("≤ {bound}"),
        }
    }

    /// Parse a command-line override `METRIC=min:0.9[:ideal][:critical]` (or `max:`).
    pub fn parse_override(spec: &str) -> Result<(String, Threshold), String> {
        let (name, rule) = spec.split_once('=').ok_or_else(|| {
            format!("threshold override {spec:?}: expected METRIC=min:VALUE or METRIC=max:VALUE")
        })?;
        let mut parts = rule.split(':');
        let direction = match parts.next() {
            Some("min") => Direction::Min,
            Some("max") => Direction::Max,
            other => {
                return Err(format!(
                    "threshold override {spec:?}: direction {:?} is not min or max",
                    other.unwrap_or("")
                ))
            }
        };
        let number = |s: &str| {
            s.parse::<f64>()
                .map_err(|_| format!("threshold override {spec:?}: {s:?} is not a number"))
        };
        let acceptable = number(parts.next().unwrap_or(""))?;
        let mut ideal = None;
        let mut critical = false;
        for part in parts {
            if part == "critical" {
                critical = true;
            } else {
                ideal = Some(number(part)?);
            }
        }
        let t = Threshold {
            direction,
            acceptable,
            ideal,
            critical,
        };
        t.validate()
            .map_err(|e| format!("threshold override {spec:?}: {e}"))?;
        Ok((name.trim().to_string(), t))
    }
}

/// Check `threshold` as the rule of metric `name`: a metric that exists, finite bounds
/// with the ideal on the good side, and for a rate, bounds between 0 and 1 (`min = 85`
/// would be a gate nothing can pass).
pub fn check_threshold(name: &str, threshold: &Threshold) -> Result<(), String> {
    check_metric_name(name)?;
    if is_rate(name) {
        let bounds = std::iter::once(threshold.acceptable).chain(threshold.ideal);
        if let Some(bad) = bounds.into_iter().find(|b| !(0.0..=1.0).contains(b)) {
            return Err(format!(
                "{name} is a rate between 0 and 1, so the bound {bad} can never be {}: write 0.85 for 85%",
                match threshold.direction {
                    Direction::Min => "reached",
                    Direction::Max => "exceeded",
                }
            ));
        }
    }
    threshold.validate()
}

/// The on-disk form: exactly one of `min` / `max`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThreshold {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ideal: Option<f64>,
    #[serde(default)]
    critical: bool,
}

impl TryFrom<RawThreshold> for Threshold {
    type Error = String;
    fn try_from(raw: RawThreshold) -> Result<Self, String> {
        let (direction, acceptable) = match (raw.min, raw.max) {
            (Some(v), None) => (Direction::Min, v),
            (None, Some(v)) => (Direction::Max, v),
            _ => return Err("a threshold needs exactly one of `min` or `max`".into()),
        };
        Ok(Threshold {
            direction,
            acceptable,
            ideal: raw.ideal,
            critical: raw.critical,
        })
    }
}

impl From<Threshold> for RawThreshold {
    fn from(t: Threshold) -> Self {
        let (min, max) = match t.direction {
            Direction::Min => (Some(t.acceptable), None),
            Direction::Max => (None, Some(t.acceptable)),
        };
        RawThreshold {
            min,
            max,
            ideal: t.ideal,
            critical: t.critical,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_both_directions() {
        let rate = Threshold::min(0.85, Some(0.95), true);
        assert_eq!(rate.judge(Some(0.84)), Verdict::Fail);
        assert_eq!(rate.judge(Some(0.85)), Verdict::Pass);
        assert_eq!(rate.judge(Some(0.96)), Verdict::Ideal);
        assert_eq!(rate.judge(None), Verdict::NotMeasured);
        assert_eq!(rate.judge(Some(f64::NAN)), Verdict::Fail);
        let loss = Threshold::max(1.5, Some(0.8), false);
        assert_eq!(loss.judge(Some(1.6)), Verdict::Fail);
        assert_eq!(loss.judge(Some(1.0)), Verdict::Pass);
        assert_eq!(loss.judge(Some(0.5)), Verdict::Ideal);
    }

    #[test]
    fn parses_overrides() {
        let (name, t) = Threshold::parse_override("intent_accuracy=min:0.9:0.95:critical").unwrap();
        assert_eq!(name, "intent_accuracy");
        assert_eq!(t, Threshold::min(0.9, Some(0.95), true));
        assert!(Threshold::parse_override("x=between:1").is_err());
        assert!(Threshold::parse_override("x=min:abc").is_err());
        assert!(Threshold::parse_override("x=min:0.9:0.5").is_err());
    }

    #[test]
    fn rate_bounds_lie_between_0_and_1() {
        assert_eq!(
            check_threshold("json_valid", &Threshold::min(0.85, Some(0.95), true)),
            Ok(())
        );
        let err = check_threshold("json_valid", &Threshold::min(85.0, None, true)).unwrap_err();
        assert!(err.contains("write 0.85 for 85%"), "{err}");
        assert!(check_threshold("json_valid", &Threshold::min(0.5, Some(1.5), false)).is_err());
        assert!(check_threshold("json_valid", &Threshold::min(-0.1, None, false)).is_err());
        // Latency and loss are no rates.
        assert_eq!(
            check_threshold("latency_mean_s", &Threshold::max(30.0, Some(10.0), false)),
            Ok(())
        );
        assert!(
            check_threshold("json_vaild", &Threshold::min(0.85, None, false))
                .unwrap_err()
                .contains("unknown metric")
        );
    }

    #[test]
    fn toml_form_round_trips() {
        #[derive(Deserialize, Serialize)]
        struct W {
            t: Threshold,
        }
        let w: W = toml::from_str("t = { max = 1.5, ideal = 0.8 }").unwrap();
        assert_eq!(w.t, Threshold::max(1.5, Some(0.8), false));
        assert!(toml::from_str::<W>("t = { min = 1, max = 2 }").is_err());
        let back: W = toml::from_str(&toml::to_string(&w).unwrap()).unwrap();
        assert_eq!(back.t, w.t);
    }
}
