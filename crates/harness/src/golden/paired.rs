//! Paired verdicts of two runs on the same cases: how many flipped each way, and whether
//! that is more than chance would flip (the exact McNemar test).

use serde::{Deserialize, Serialize};

use super::snapshot::{CaseVerdicts, Snapshot};
use crate::score::mcnemar_p_value;

/// How the verdicts of the cases judged in both runs moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flips {
    /// Cases that passed in the baseline and fail now (McNemar's b).
    pub to_fail: u64,
    /// Cases that failed in the baseline and pass now (McNemar's c).
    pub to_pass: u64,
    /// Cases with a verdict in both runs: the pairs the test is over.
    pub paired: u64,
}

impl Flips {
    /// Count the flips over the cases of `baseline` that `current` also holds, `verdict`
    /// reading one case's verdict (`None`: it did not apply, and the case is left out).
    pub fn count(
        baseline: &Snapshot,
        current: &Snapshot,
        verdict: impl Fn(&CaseVerdicts) -> Option<bool>,
    ) -> Flips {
        let mut flips = Flips {
            to_fail: 0,
            to_pass: 0,
            paired: 0,
        };
        for (id, before) in &baseline.cases {
            let pair = current
                .cases
                .get(id)
                .and_then(|now| Some((verdict(before)?, verdict(now)?)));
            if let Some((before, now)) = pair {
                flips.paired += 1;
                flips.to_fail += u64::from(before && !now);
                flips.to_pass += u64::from(!before && now);
            }
        }
        flips
    }

    /// The two-sided exact McNemar p-value of these flips.
    pub fn p_value(&self) -> f64 {
        mcnemar_p_value(self.to_fail, self.to_pass)
    }

    /// More cases flipped to fail than to pass, beyond chance at level `alpha`.
    pub fn significantly_worse(&self, alpha: f64) -> bool {
        self.to_fail > self.to_pass && self.p_value() < alpha
    }

    /// More cases flipped to pass than to fail, beyond chance at level `alpha`.
    pub fn significantly_better(&self, alpha: f64) -> bool {
        self.to_pass > self.to_fail && self.p_value() < alpha
    }
}
