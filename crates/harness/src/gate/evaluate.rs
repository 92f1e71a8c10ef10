//! Judging a run: each thresholded metric gets a verdict and an explanation,
//! and the run gets an outcome (pass, pass with warnings, fail, could not evaluate) and
//! exit code.
//!
//! A verdict needs evidence. A run in which the backend gave no answer to some case
//! (an outage, an engine error) is not judged at all: every verdict is N/A and the
//! outcome is [`Outcome::CouldNotEvaluate`], never a model failure. A run that scored
//! only part of the suite (`--max-cases`) is judged, but never earns IDEAL.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::threshold::{Threshold, Verdict};
use crate::score::{FailureClass, Summary, METRIC_NAMES};

/// The verdict on one thresholded metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricVerdict {
    /// Metric name.
    pub metric: String,
    /// Measured value (`None`: not measured).
    pub value: Option<f64>,
    /// 95% interval, for rates.
    pub ci95: Option<(f64, f64)>,
    /// Cases (or tokens) behind the value.
    pub n: u64,
    /// The rule applied.
    pub threshold: Threshold,
    /// FAIL / N/A / PASS / IDEAL.
    pub verdict: Verdict,
    /// Why, in words: what failed and what usually fixes it (empty when it passed).
    pub explanation: String,
}

/// The outcome of the whole gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every metric passed.
    Pass,
    /// Only non-critical metrics failed: the gate passes (exit 0) but says so loudly.
    PassWithWarnings,
    /// A critical metric failed (exit 1).
    Fail,
    /// The backend gave no answer to some case: there is no verdict (exit 3).
    CouldNotEvaluate,
}

impl Outcome {
    /// The process exit code of this outcome.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Pass | Outcome::PassWithWarnings => 0,
            Outcome::Fail => 1,
            Outcome::CouldNotEvaluate => 3,
        }
    }

    /// Order from worst (fail) to best (pass), for telling a worse verdict from a better one.
    pub fn rank(self) -> u8 {
        match self {
            Outcome::CouldNotEvaluate | Outcome::Fail => 0,
            Outcome::PassWithWarnings => 1,
            Outcome::Pass => 2,
        }
    }

    /// A loud one-word label.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::PassWithWarnings => "PASS WITH WARNINGS",
            Outcome::Fail => "FAIL",
            Outcome::CouldNotEvaluate => "COULD NOT EVALUATE",
        }
    }
}

/// What a judgement rests on: how many of the suite's cases were scored and answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Cases the suite holds.
    pub suite_cases: u64,
    /// Cases scored: all of the suite's but in a partial run (`--max-cases`).
    pub scored: u64,
    /// Scored cases the backend gave no answer to (class `backend_error`).
    pub unanswered: u64,
    /// Answers of a constrained run (`--grammar`, `+json`/`+schema` arms) that ended on
    /// their own yet break the constraint: the backend did not enforce it (a server that
    /// ignores `response_format`), so the run measured something else than it declares.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unenforced: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Evidence {
    /// Fewer cases were scored than the suite holds: the run may pass or fail but never
    /// earns IDEAL, and is no golden snapshot.
    pub fn is_partial(&self) -> bool {
        self.scored < self.suite_cases
    }

    /// Every scored case has an answer, under the constraint the run declares: the run
    /// can be judged.
    pub fn is_complete(&self) -> bool {
        self.scored > 0 && self.unanswered == 0 && self.unenforced == 0
    }

    /// The evidence behind `summary`, a run of a suite holding `suite_cases` cases in which
    /// `unenforced` answers broke the constraint the run declared.
    pub fn of(summary: &Summary, suite_cases: u64, unenforced: u64) -> Evidence {
        Evidence {
            suite_cases,
            scored: summary.cases,
            unanswered: summary
                .failure_classes
                .iter()
                .find(|c| c.class == FailureClass::BackendError)
                .map_or(0, |c| c.count),
            unenforced,
        }
    }
}

/// The gate's judgement of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateResult {
    /// Overall outcome.
    pub outcome: Outcome,
    /// One verdict per thresholded metric, in threshold-name order.
    pub verdicts: Vec<MetricVerdict>,
    /// What the verdicts rest on.
    pub evidence: Evidence,
}

impl GateResult {
    /// Verdicts that failed, critical ones first.
    pub fn failures(&self) -> impl Iterator<Item = &MetricVerdict> {
        self.verdicts.iter().filter(|v| v.verdict == Verdict::Fail)
    }
}

/// Judge `summary` against `thresholds`, on the `evidence` behind it.
pub fn evaluate(
    summary: &Summary,
    thresholds: &BTreeMap<String, Threshold>,
    evidence: Evidence,
) -> GateResult {
    let mut verdicts: Vec<MetricVerdict> = thresholds
        .iter()
        .map(|(name, threshold)| {
            let metric = summary.metric(name);
            let value = metric.and_then(|m| m.value);
            let (verdict, explanation) = if evidence.is_complete() {
                let verdict = match threshold.judge(value) {
                    Verdict::Ideal if evidence.is_partial() => Verdict::Pass,
                    verdict => verdict,
                };
                (verdict, explain(name, value, threshold, verdict, summary))
            } else {
                (Verdict::NotMeasured, unjudged(&evidence))
            };
            MetricVerdict {
                metric: name.clone(),
                value,
                ci95: metric.and_then(|m| m.ci95),
                n: metric.map_or(0, |m| m.n),
                threshold: *threshold,
                verdict,
                explanation,
            }
        })
        .collect();
    verdicts.sort_by_key(|v| METRIC_NAMES.iter().position(|n| *n == v.metric));
    let critical_fail = verdicts
        .iter()
        .any(|v| v.verdict == Verdict::Fail && v.threshold.critical);
    let any_fail = verdicts.iter().any(|v| v.verdict == Verdict::Fail);
    let outcome = match (evidence.is_complete(), critical_fail, any_fail) {
        (false, _, _) => Outcome::CouldNotEvaluate,
        (true, true, _) => Outcome::Fail,
        (true, false, true) => Outcome::PassWithWarnings,
        _ => Outcome::Pass,
    };
    GateResult {
        outcome,
        verdicts,
        evidence,
    }
}

/// Why a run that could not be evaluated has no verdicts.
fn unjudged(evidence: &Evidence) -> String {
    if evidence.unanswered > 0 {
        format!(
            "not judged: the backend gave no answer to {} of the {} cases scored",
            evidence.unanswered, evidence.scored
        )
    } else {
        format!(
            "not judged: schema not enforced: {} of the {} answers of this constrained run ended on their own yet break the constraint",
            evidence.unenforced, evidence.scored
        )
    }
}

fn explain(name: &str, value: Option<f64>, t: &Threshold, verdict: Verdict, s: &Summary) -> String {
    match verdict {
        Verdict::NotMeasured => {
            return match s.metric(name) {
                Some(_) => "not measured by this backend or suite".into(),
                None => format!("unknown metric `{name}`: no such metric is computed"),
            }
        }
        Verdict::Pass | Verdict::Ideal => return String::new(),
        Verdict::Fail => {}
    }
    let v = value.unwrap_or(f64::NAN);
    let mut why = format!("{v:.4} is not {}", t.describe_bound(t.acceptable));
    let detail = match name {
        "json_valid" => json_detail(s),
        "fields_complete" | "schema_valid" => {
            let invalid = 1.0 - s.value("json_valid").unwrap_or(0.0);
            format!(
                "{:.1}% of answers are not valid JSON to begin with",
                100.0 * invalid
            )
        }
        "intent_accuracy" => intent_detail(s),
        "eval_loss" | "perplexity" => {
            "the model has not fit the assistant turns; note that loss alone never gates a chatbot"
                .into()
        }
        check => match s.check_failures.get(check) {
            Some(failures) => {
                let examples: Vec<String> = failures
                    .examples
                    .iter()
                    .map(|e| format!("{}: {}", e.id, e.reason))
                    .collect();
                format!(
                    "{} in {} cases (e.g. {})",
                    check_hint(check),
                    failures.count,
                    examples.join(" | ")
                )
            }
            None => String::new(),
        },
    };
    if !detail.is_empty() {
        why.push_str(" — ");
        why.push_str(&detail);
    }
    why
}

fn check_hint(check: &str) -> &'static str {
    match check {
        "non_empty_response" => "answers with a blank or missing response text",
        "pii_safe" => "answers echo a cédula or card number (Ley 172-13)",
        "legal_compliance" => {
            "answers use forbidden phrasing: final/fixed prices (Ley 358-05) or binding promises"
        }
        "vehicle_grounding" => {
            "answers name vehicles (or listing ids) the context does not hold"
        }
        "price_grounding" => {
            "answers quote amounts that are not the price of the vehicle they are said of"
        }
        "boundary" => {
            "answers leave their mode: another vehicle in a single-vehicle chat, another dealer or the competition"
        }
        "legal_refusal" => "illegal requests are not refused",
        "price_disclaimer" => {
            "answers quote a price without saying it is a reference to confirm (Ley 358-05)"
        }
        "language" => "responses are not in the suite's language",
        _ => "failing cases",
    }
}

fn json_detail(s: &Summary) -> String {
    let mut parts: Vec<String> = s
        .failure_classes
        .iter()
        .filter(|c| c.class != FailureClass::Valid)
        .map(|c| {
            format!(
                "{} {} ({:.1}%, e.g. {})",
                c.count,
                c.class.as_str(),
                100.0 * c.share,
                c.examples.join(", ")
            )
        })
        .collect();
    let invalid = s
        .failure_classes
        .iter()
        .filter(|c| c.class != FailureClass::Valid);
    if let Some(top) = invalid.fold(
        None,
        |best: Option<&crate::score::ClassCount>, c| match best {
            Some(b) if b.count >= c.count => Some(b),
            _ => Some(c),
        },
    ) {
        parts.push(format!("most common fix: {}", top.class.hint()));
    }
    if let (Some(strict), Some(lenient)) = (s.value("json_valid"), s.value("json_lenient")) {
        if lenient > strict {
            parts.push(format!(
                "lenient parsing recovers an object in {:.1}% of answers (vs {:.1}% strict): fixing stop/format would recover them",
                100.0 * lenient,
                100.0 * strict
            ));
        }
    }
    parts.join("; ")
}

fn intent_detail(s: &Summary) -> String {
    let mut confusions: Vec<(u64, &str, &str)> = s
        .confusion
        .iter()
        .flat_map(|(e, row)| {
            row.iter()
                .filter(move |(p, _)| *p != e)
                .map(move |(p, c)| (*c, e.as_str(), p.as_str()))
        })
        .collect();
    confusions.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let top: Vec<String> = confusions
        .iter()
        .take(3)
        .map(|(c, e, p)| format!("{e} → {p} ×{c}"))
        .collect();
    if top.is_empty() {
        String::new()
    } else {
        format!("most frequent confusions: {}", top.join(", "))
    }
}
