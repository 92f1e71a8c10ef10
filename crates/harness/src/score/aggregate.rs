//! Aggregation: case results → metrics (with 95% intervals and counts),
//! breakdowns by mode / intent / turn, failure-class counts, per-intent
//! precision/recall/F1 and the confusion matrix.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::case::CaseResult;
use super::checks::{CHECK_NAMES, FIGURE_NAMES};
use super::classify::FailureClass;
use super::repeats::RepeatStats;
use super::stats::{mean, percentile, Rate};
use crate::backend::LossReport;
use crate::suite::conversation_of;

/// Every metric a run computes, in report order (thresholds may name only these).
pub const METRIC_NAMES: [&str; 21] = [
    "json_valid",
    "json_lenient",
    "schema_valid",
    "fields_complete",
    "intent_accuracy",
    "non_empty_response",
    "pii_safe",
    "legal_compliance",
    "vehicle_grounding",
    "price_grounding",
    "boundary",
    "legal_refusal",
    "price_disclaimer",
    "language",
    "slang",
    "eval_loss",
    "perplexity",
    "latency_mean_s",
    "latency_p95_s",
    "ttft_mean_s",
    "tokens_per_s",
];

/// Check that `name` is a metric a run computes: every threshold (a suite's, an
/// override) names its metric through here. The error text says which names are known.
pub fn check_metric_name(name: &str) -> Result<(), String> {
    if METRIC_NAMES.contains(&name) {
        Ok(())
    } else {
        Err(format!(
            "unknown metric (known: {})",
            METRIC_NAMES.join(", ")
        ))
    }
}

/// Metrics that are not proportions in [0, 1].
const VALUE_METRICS: [&str; 6] = [
    "eval_loss",
    "perplexity",
    "latency_mean_s",
    "latency_p95_s",
    "ttft_mean_s",
    "tokens_per_s",
];

/// Metrics that time the machine that answered (with the model): compared across runs
/// only when both were timed on the same machine.
const TIMING_METRICS: [&str; 4] = [
    "latency_mean_s",
    "latency_p95_s",
    "ttft_mean_s",
    "tokens_per_s",
];

/// True for the metrics that measure speed ([`TIMING_METRICS`]).
pub fn is_timing(metric: &str) -> bool {
    TIMING_METRICS.contains(&metric)
}

/// Metrics where a lower value is better.
const LOWER_IS_BETTER: [&str; 5] = [
    "eval_loss",
    "perplexity",
    "latency_mean_s",
    "latency_p95_s",
    "ttft_mean_s",
];

/// True for metrics that are proportions in [0, 1] (every rate metric, and any unknown name).
pub fn is_rate(metric: &str) -> bool {
    !VALUE_METRICS.contains(&metric)
}

/// True when a higher value of `metric` is better.
pub fn higher_is_better(metric: &str) -> bool {
    !LOWER_IS_BETTER.contains(&metric)
}

/// The label used for a prediction with no intent (invalid JSON, missing field).
pub const NO_INTENT: &str = "(none)";

/// One metric of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Metric name (thresholds refer to it).
    pub name: String,
    /// The value; `None` when not measured (e.g. loss with the replay backend).
    pub value: Option<f64>,
    /// Numerator and denominator, for rates.
    pub rate: Option<Rate>,
    /// 95% interval, for rates: Wilson at the effective sample size of the conversation
    /// clusters ([`Rate::clustered_wilson`]).
    pub ci95: Option<(f64, f64)>,
    /// Number of cases (or tokens, for loss) behind the value.
    pub n: u64,
}

impl Metric {
    /// A rate from the (passed, judged) counts of its clusters, with the clustered
    /// interval ([`Rate::clustered_wilson`]).
    fn from_clusters(name: &str, clusters: &[(u64, u64)]) -> Metric {
        let rate = clusters
            .iter()
            .fold(Rate { successes: 0, n: 0 }, |r, c| Rate {
                successes: r.successes + c.0,
                n: r.n + c.1,
            });
        Metric {
            name: name.into(),
            value: rate.value(),
            rate: Some(rate),
            ci95: rate.clustered_wilson(clusters),
            n: rate.n,
        }
    }

    fn plain(name: &str, value: Option<f64>, n: u64) -> Metric {
        Metric {
            name: name.into(),
            value: if n > 0 { value } else { None },
            rate: None,
            ci95: None,
            n,
        }
    }
}

/// Rates for one slice of the cases (a mode, an intent, a turn index).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    /// The slice's key (mode name, intent, turn index).
    pub key: String,
    /// Cases in the slice.
    pub n: u64,
    /// Strict JSON validity in the slice.
    pub json_valid: f64,
    /// Field completeness in the slice.
    pub fields_complete: f64,
    /// Intent accuracy in the slice (over cases with a reference intent).
    pub intent_accuracy: Option<f64>,
    /// Cases passing every criterion.
    pub passed: f64,
    /// Pass rate of each domain check over the slice's cases it applied to.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<String, f64>,
}

/// A failing case of one check, with its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckExample {
    /// The case id.
    pub id: String,
    /// Why it failed (which name, which amount, which sentence).
    pub reason: String,
}

/// One check's pass rate within one group of cases (e.g. one kind of illegal request).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRate {
    /// The group.
    pub key: String,
    /// Cases judged.
    pub n: u64,
    /// Cases that passed.
    pub passed: u64,
}

/// How many answers fell in one failure class, with example case ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassCount {
    /// The class.
    pub class: FailureClass,
    /// Number of answers.
    pub count: u64,
    /// Share of all answers.
    pub share: f64,
    /// Up to three case ids, for a quick look.
    pub examples: Vec<String>,
}

/// Precision, recall and F1 of one intent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntentStats {
    /// The intent.
    pub intent: String,
    /// Cases whose reference has this intent.
    pub support: u64,
    /// Cases predicted with this intent.
    pub predicted: u64,
    /// Correct predictions of this intent.
    pub true_positives: u64,
    /// tp / predicted.
    pub precision: Option<f64>,
    /// tp / support.
    pub recall: Option<f64>,
    /// Harmonic mean of precision and recall.
    pub f1: Option<f64>,
}

/// Everything aggregated over a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of cases scored.
    pub cases: u64,
    /// Cases passing every per-case criterion.
    pub cases_passed: u64,
    /// Metrics, in report order.
    pub metrics: Vec<Metric>,
    /// Answers per failure class (only classes that occurred).
    pub failure_classes: Vec<ClassCount>,
    /// Rates by mode.
    pub by_mode: Vec<Breakdown>,
    /// Rates by reference intent.
    pub by_intent: Vec<Breakdown>,
    /// Rates by assistant turn index.
    pub by_turn: Vec<Breakdown>,
    /// Per-intent precision/recall/F1.
    pub intents: Vec<IntentStats>,
    /// Confusion matrix: reference intent → predicted intent → count.
    pub confusion: BTreeMap<String, BTreeMap<String, u64>>,
    /// Per domain check that failed somewhere: how many cases failed it, and the
    /// first few with their reasons.
    pub check_failures: BTreeMap<String, CheckFailures>,
    /// Per check whose verdicts carry a group: the pass rate in each group.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub check_groups: BTreeMap<String, Vec<GroupRate>>,
    /// Per-case agreement of the draws, when every case was answered several times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeats: Option<RepeatStats>,
}

/// The failures of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckFailures {
    /// Cases that failed it.
    pub count: u64,
    /// The first few, with reasons.
    pub examples: Vec<CheckExample>,
}

/// How many failing cases of a check are kept with their reasons.
const CHECK_EXAMPLES: usize = 3;

impl Summary {
    /// A metric's value by name (`None` when absent or not measured).
    pub fn value(&self, name: &str) -> Option<f64> {
        self.metric(name).and_then(|m| m.value)
    }

    /// A metric by name.
    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.name == name)
    }
}

/// The rate metrics: those with a verdict per case, in report order ([`METRIC_NAMES`]
/// without its value metrics, which come last).
pub const RATE_METRICS: &[&str] = METRIC_NAMES
    .split_at(METRIC_NAMES.len() - VALUE_METRICS.len())
    .0;

/// One case's verdict on every rate metric that applies to it, in [`RATE_METRICS`]
/// order: the JSON and schema metrics always, `intent_accuracy` when the reference has
/// an intent, each domain check that judged the case, each figure measured on it.
/// A rate metric's value is the share of `true` among the cases it applies to: this is
/// the one place a case's verdicts are read, for [`summarize`] and golden snapshots alike.
pub fn case_verdicts(r: &CaseResult) -> Vec<(&'static str, bool)> {
    let mut verdicts = vec![
        ("json_valid", r.class == FailureClass::Valid),
        ("json_lenient", r.lenient_valid),
        ("schema_valid", r.schema_valid),
        ("fields_complete", r.fields_complete),
    ];
    if r.expected_intent.is_some() {
        verdicts.push(("intent_accuracy", r.intent_correct));
    }
    verdicts.extend(
        CHECK_NAMES
            .iter()
            .filter_map(|&name| Some((name, r.checks.passed(name)?))),
    );
    verdicts.extend(
        FIGURE_NAMES
            .iter()
            .filter_map(|&name| Some((name, *r.figures.get(name)?))),
    );
    verdicts
}

/// Aggregate case results (and the loss, when the backend measured it).
pub fn summarize(results: &[CaseResult], loss: Option<LossReport>) -> Summary {
    // Per metric, the (passed, judged) count of each conversation: its turns and draws
    // are one cluster for the interval.
    let mut clusters: BTreeMap<&str, BTreeMap<&str, (u64, u64)>> = BTreeMap::new();
    for r in results {
        let conversation = conversation_of(&r.id);
        for (name, pass) in case_verdicts(r) {
            let count = clusters
                .entry(name)
                .or_default()
                .entry(conversation)
                .or_default();
            count.0 += u64::from(pass);
            count.1 += 1;
        }
    }
    let mut metrics: Vec<Metric> = RATE_METRICS
        .iter()
        .map(|name| {
            let counts: Vec<(u64, u64)> = clusters
                .get(name)
                .map(|c| c.values().copied().collect())
                .unwrap_or_default();
            Metric::from_clusters(name, &counts)
        })
        .collect();
    let (nll, tokens) = loss.map_or((None, 0), |l| (Some(l.mean_nll), l.tokens));
    metrics.push(Metric::plain("eval_loss", nll, tokens));
    metrics.push(Metric::plain("perplexity", nll.map(f64::exp), tokens));
    metrics.extend(latency_metrics(results));
    debug_assert!(metrics.iter().map(|m| m.name.as_str()).eq(METRIC_NAMES));

    Summary {
        cases: results.len() as u64,
        cases_passed: results.iter().filter(|r| r.passed).count() as u64,
        metrics,
        failure_classes: class_counts(results),
        by_mode: breakdown(results, |r| {
            r.mode.clone().unwrap_or_else(|| "(unknown)".into())
        }),
        by_intent: breakdown(results, |r| {
            r.expected_intent
                .clone()
                .unwrap_or_else(|| NO_INTENT.into())
        }),
        by_turn: breakdown(results, |r| r.turn.to_string()),
        intents: intent_stats(results),
        confusion: confusion(results),
        check_failures: check_failures(results),
        check_groups: check_groups(results),
        repeats: RepeatStats::of(results),
    }
}

fn check_failures(results: &[CaseResult]) -> BTreeMap<String, CheckFailures> {
    let mut out: BTreeMap<String, CheckFailures> = BTreeMap::new();
    for r in results {
        for (name, verdict) in r.checks.failures() {
            let entry = out.entry(name.to_string()).or_insert(CheckFailures {
                count: 0,
                examples: Vec::new(),
            });
            entry.count += 1;
            if entry.examples.len() < CHECK_EXAMPLES {
                entry.examples.push(CheckExample {
                    id: r.id.clone(),
                    reason: verdict.reason.clone().unwrap_or_else(|| "failed".into()),
                });
            }
        }
    }
    out
}

fn check_groups(results: &[CaseResult]) -> BTreeMap<String, Vec<GroupRate>> {
    let mut counts: BTreeMap<String, BTreeMap<String, (u64, u64)>> = BTreeMap::new();
    for r in results {
        for (name, verdict) in &r.checks.0 {
            if let Some(group) = &verdict.group {
                let c = counts
                    .entry(name.clone())
                    .or_default()
                    .entry(group.clone())
                    .or_default();
                c.0 += 1;
                c.1 += u64::from(verdict.pass);
            }
        }
    }
    counts
        .into_iter()
        .map(|(name, groups)| {
            let rows = groups
                .into_iter()
                .map(|(key, (n, passed))| GroupRate { key, n, passed })
                .collect();
            (name, rows)
        })
        .collect()
}

fn latency_metrics(results: &[CaseResult]) -> Vec<Metric> {
    let mut latency: Vec<f64> = results.iter().filter_map(|r| r.latency_s).collect();
    latency.sort_by(f64::total_cmp);
    let ttft: Vec<f64> = results.iter().filter_map(|r| r.ttft_s).collect();
    let (tokens, seconds) = results
        .iter()
        .filter_map(|r| Some((r.completion_tokens? as f64, r.latency_s?)))
        .fold((0.0, 0.0), |(t, s), (ct, l)| (t + ct, s + l));
    let n = latency.len() as u64;
    vec![
        Metric::plain("latency_mean_s", mean(&latency), n),
        Metric::plain("latency_p95_s", percentile(&latency, 95.0), n),
        Metric::plain("ttft_mean_s", mean(&ttft), ttft.len() as u64),
        Metric::plain(
            "tokens_per_s",
            (seconds > 0.0).then(|| tokens / seconds),
            if seconds > 0.0 { n } else { 0 },
        ),
    ]
}

fn class_counts(results: &[CaseResult]) -> Vec<ClassCount> {
    let total = results.len().max(1) as f64;
    FailureClass::ALL
        .iter()
        .filter_map(|&class| {
            let members: Vec<&CaseResult> = results.iter().filter(|r| r.class == class).collect();
            (!members.is_empty()).then(|| ClassCount {
                class,
                count: members.len() as u64,
                share: members.len() as f64 / total,
                examples: members.iter().take(3).map(|r| r.id.clone()).collect(),
            })
        })
        .collect()
}

fn breakdown(results: &[CaseResult], key: impl Fn(&CaseResult) -> String) -> Vec<Breakdown> {
    let mut groups: BTreeMap<String, Vec<&CaseResult>> = BTreeMap::new();
    for r in results {
        groups.entry(key(r)).or_default().push(r);
    }
    let mut rows: Vec<Breakdown> = groups
        .into_iter()
        .map(|(key, rs)| {
            let n = rs.len() as f64;
            let share =
                |f: &dyn Fn(&CaseResult) -> bool| rs.iter().filter(|r| f(r)).count() as f64 / n;
            let intent = Rate::from_options(
                rs.iter()
                    .map(|r| r.expected_intent.as_ref().map(|_| r.intent_correct)),
            );
            let checks = CHECK_NAMES
                .iter()
                .filter_map(|name| {
                    let value =
                        Rate::from_options(rs.iter().map(|r| r.checks.passed(name))).value()?;
                    Some((name.to_string(), value))
                })
                .collect();
            Breakdown {
                key,
                n: rs.len() as u64,
                json_valid: share(&|r| r.class == FailureClass::Valid),
                fields_complete: share(&|r| r.fields_complete),
                intent_accuracy: intent.value(),
                passed: share(&|r| r.passed),
                checks,
            }
        })
        .collect();
    // Numeric keys (turn indices) sort numerically.
    rows.sort_by(|a, b| match (a.key.parse::<u64>(), b.key.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.key.cmp(&b.key),
    });
    rows
}

fn predicted_label(r: &CaseResult) -> String {
    r.predicted_intent
        .clone()
        .unwrap_or_else(|| NO_INTENT.into())
}

fn confusion(results: &[CaseResult]) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut m: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for r in results {
        if let Some(expected) = &r.expected_intent {
            *m.entry(expected.clone())
                .or_default()
                .entry(predicted_label(r))
                .or_default() += 1;
        }
    }
    m
}

fn intent_stats(results: &[CaseResult]) -> Vec<IntentStats> {
    let mut support: BTreeMap<&str, u64> = BTreeMap::new();
    let mut predicted: BTreeMap<&str, u64> = BTreeMap::new();
    let mut tp: BTreeMap<&str, u64> = BTreeMap::new();
    for r in results {
        let Some(expected) = r.expected_intent.as_deref() else {
            continue;
        };
        *support.entry(expected).or_default() += 1;
        if let Some(p) = r.predicted_intent.as_deref() {
            *predicted.entry(p).or_default() += 1;
        }
        if r.intent_correct {
            *tp.entry(expected).or_default() += 1;
        }
    }
    let mut names: Vec<&str> = support.keys().chain(predicted.keys()).copied().collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|intent| {
            let s = support.get(intent).copied().unwrap_or(0);
            let p = predicted.get(intent).copied().unwrap_or(0);
            let t = tp.get(intent).copied().unwrap_or(0);
            let precision = (p > 0).then(|| t as f64 / p as f64);
            let recall = (s > 0).then(|| t as f64 / s as f64);
            let f1 = match (precision, recall) {
                (Some(pr), Some(rc)) if pr + rc > 0.0 => Some(2.0 * pr * rc / (pr + rc)),
                (Some(_), Some(_)) => Some(0.0),
                _ => None,
            };
            IntentStats {
                intent: intent.into(),
                support: s,
                predicted: p,
                true_positives: t,
                precision,
                recall,
                f1,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::{CheckResults, CheckVerdict};

    /// A strictly valid answer with a reference intent, judged by the two checks given.
    fn case(id: &str, intent_correct: bool, checks: &[(&str, bool)]) -> CaseResult {
        CaseResult {
            id: id.into(),
            mode: None,
            turn: 0,
            output: String::new(),
            parsed: None,
            class: FailureClass::Valid,
            lenient_valid: true,
            schema_valid: true,
            schema_errors: Vec::new(),
            fields_complete: true,
            field_problems: Vec::new(),
            expected_intent: Some("Greeting".into()),
            predicted_intent: None,
            intent_correct,
            checks: CheckResults(
                checks
                    .iter()
                    .map(|(name, pass)| (name.to_string(), CheckVerdict::plain(*pass)))
                    .collect(),
            ),
            figures: BTreeMap::new(),
            prompt_tokens: None,
            completion_tokens: None,
            finish_reason: None,
            latency_s: None,
            ttft_s: None,
            error: None,
            passed: false,
        }
    }

    fn cases() -> Vec<CaseResult> {
        let mut truncated = case("c", false, &[("non_empty_response", true)]);
        truncated.class = FailureClass::Truncated;
        truncated.lenient_valid = false;
        truncated.schema_valid = false;
        truncated.fields_complete = false;
        let mut no_intent = case("d", false, &[("price_grounding", false)]);
        no_intent.expected_intent = None;
        no_intent.figures.insert("slang".into(), true);
        let mut prose = case("e", true, &[("price_grounding", true)]);
        prose.class = FailureClass::ProseAround;
        prose.schema_valid = false;
        prose.figures.insert("slang".into(), false);
        vec![
            case(
                "a",
                true,
                &[("non_empty_response", true), ("vehicle_grounding", false)],
            ),
            case("b", false, &[("non_empty_response", true)]),
            truncated,
            no_intent,
            prose,
        ]
    }

    #[test]
    fn case_verdicts_list_only_the_metrics_that_apply() {
        let results = cases();
        let names = |r: &CaseResult| -> Vec<&str> {
            case_verdicts(r).into_iter().map(|(name, _)| name).collect()
        };
        assert_eq!(
            names(&results[3]),
            [
                "json_valid",
                "json_lenient",
                "schema_valid",
                "fields_complete",
                "price_grounding",
                "slang"
            ]
        );
        assert_eq!(
            case_verdicts(&results[0])[4..],
            [
                ("intent_accuracy", true),
                ("non_empty_response", true),
                ("vehicle_grounding", false)
            ]
        );
    }

    #[test]
    fn rates_from_case_verdicts_equal_the_summary() {
        let results = cases();
        let summary = summarize(&results, None);
        for &name in RATE_METRICS {
            let verdicts: Vec<bool> = results
                .iter()
                .filter_map(|r| case_verdicts(r).into_iter().find(|(m, _)| *m == name))
                .map(|(_, pass)| pass)
                .collect();
            let rate = Rate {
                successes: verdicts.iter().filter(|&&pass| pass).count() as u64,
                n: verdicts.len() as u64,
            };
            assert_eq!(summary.metric(name).unwrap().rate, Some(rate), "{name}");
        }
        // By hand: 3 of 5 strictly valid (c truncated, e prose), 4 of 5 leniently;
        // intents right on a and e of the 4 cases with a reference intent; price
        // grounding judged on d and e only; slang measured on d and e.
        let rate = |name: &str| summary.metric(name).unwrap().rate.unwrap();
        assert_eq!(rate("json_valid"), Rate { successes: 3, n: 5 });
        assert_eq!(rate("json_lenient"), Rate { successes: 4, n: 5 });
        assert_eq!(rate("intent_accuracy"), Rate { successes: 2, n: 4 });
        assert_eq!(rate("price_grounding"), Rate { successes: 1, n: 2 });
        assert_eq!(rate("slang"), Rate { successes: 1, n: 2 });
        assert_eq!(rate("legal_refusal"), Rate { successes: 0, n: 0 });
        assert_eq!(summary.value("legal_refusal"), None);
    }

    #[test]
    fn intervals_count_conversations_not_turns() {
        // 12 conversations of 4 turns (ids `t:<line>:<turn>`): the intent is right on
        // every turn of 8 and wrong on every turn of 4. 48 verdicts, the evidence of 12.
        let results: Vec<CaseResult> = (1..=12)
            .flat_map(|line| {
                (0..4).map(move |turn| case(&format!("t:{line}:{turn}"), line <= 8, &[]))
            })
            .collect();
        let summary = summarize(&results, None);
        let intent = summary.metric("intent_accuracy").unwrap();
        let rate = intent.rate.unwrap();
        assert_eq!((rate.successes, rate.n), (32, 48));
        let clusters: Vec<(u64, u64)> = (1..=12)
            .map(|line| (if line <= 8 { 4 } else { 0 }, 4))
            .collect();
        assert_eq!(intent.ci95, rate.clustered_wilson(&clusters));
        let (lo, hi) = intent.ci95.unwrap();
        let (plain_lo, plain_hi) = rate.wilson().unwrap();
        assert!(
            hi - lo > 1.8 * (plain_hi - plain_lo),
            "[{lo}, {hi}] vs [{plain_lo}, {plain_hi}]"
        );
        // Draws of one case are the same conversation too.
        assert_eq!(conversation_of("t:3:1#4"), "t:3");
    }

    #[test]
    fn rate_metrics_are_the_metric_names_before_the_value_metrics() {
        assert_eq!(RATE_METRICS.len() + VALUE_METRICS.len(), METRIC_NAMES.len());
        assert!(RATE_METRICS.iter().all(|m| is_rate(m)));
        assert!(METRIC_NAMES[RATE_METRICS.len()..]
            .iter()
            .all(|m| !is_rate(m)));
    }
}
