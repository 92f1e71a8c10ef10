//! Repeated draws (`--repeats N` under sampling): each case answered N times, its own
//! seeded stream per draw. Per case: how many draws passed; over the run: the mean pass
//! rate, pass^N (every draw passed), pass@any, and the flaky cases — right on some draws
//! and wrong on others — listed with what each draw did.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::case::CaseResult;
use super::stats::Rate;
use crate::suite::split_draw;

/// What the draws of every case did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepeatStats {
    /// Draws per case (the most any case had).
    pub draws: u32,
    /// Cases (each answered `draws` times).
    pub cases: u64,
    /// Cases whose every draw passed (pass^N).
    pub pass_all: Rate,
    /// Cases with at least one passing draw.
    pub pass_any: Rate,
    /// Cases passing on some draws and failing on others, in id order.
    pub flaky: Vec<FlakyCase>,
}

/// A case whose draws disagree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlakyCase {
    /// The case id (without a draw number).
    pub id: String,
    /// Draws that passed.
    pub passed: u32,
    /// Every draw: its number, and `passed` or the first criterion it failed.
    pub draws: Vec<(u32, String)>,
}

impl RepeatStats {
    /// The repeat statistics of `results` when their ids carry draw numbers
    /// ([`crate::suite::draw_id`]); `None` for a run of one draw per case.
    pub fn of(results: &[CaseResult]) -> Option<RepeatStats> {
        let mut by_case: BTreeMap<&str, Vec<(u32, &CaseResult)>> = BTreeMap::new();
        for r in results {
            let (case, draw) = split_draw(&r.id);
            by_case.entry(case).or_default().push((draw?, r));
        }
        let draws = by_case.values().map(Vec::len).max()? as u32;
        let passes = |draws: &[(u32, &CaseResult)]| draws.iter().filter(|(_, r)| r.passed).count();
        let count = |keep: &dyn Fn(usize, usize) -> bool| Rate {
            successes: by_case
                .values()
                .filter(|d| keep(passes(d), d.len()))
                .count() as u64,
            n: by_case.len() as u64,
        };
        let flaky = by_case
            .iter()
            .filter(|(_, d)| (1..d.len()).contains(&passes(d)))
            .map(|(id, d)| FlakyCase {
                id: id.to_string(),
                passed: passes(d) as u32,
                draws: d
                    .iter()
                    .map(|(draw, r)| (*draw, r.failure_kind().to_string()))
                    .collect(),
            })
            .collect();
        Some(RepeatStats {
            draws,
            cases: by_case.len() as u64,
            pass_all: count(&|passed, n| passed == n),
            pass_any: count(&|passed, _| passed > 0),
            flaky,
        })
    }
}
