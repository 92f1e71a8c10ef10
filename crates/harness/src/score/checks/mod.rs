//! Domain checks, each a metric with a verdict per case and a reason per failure:
//! always `non_empty_response`, `pii_safe` and `legal_compliance` (forbidden phrasing);
//! and, where `[checks]` declares them with their data files, the grounded checks
//! `vehicle_grounding`, `price_grounding`, `boundary`, `legal_refusal`,
//! `price_disclaimer` and `language` (plus the `slang` figure).
//!
//! A check that does not apply to a case (no vehicle named, no price quoted, not a
//! refusal turn) gives no verdict for it: its rate counts only the cases it judged.

mod amount;
mod basic;
mod boundary;
mod config;
mod context;
mod disclaimer;
mod grounding;
mod language;
mod lexicon;
mod load;
mod refusal;
mod text;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use amount::{find_amounts, Amount, Currency, Scan};
pub use basic::{contains_pii, group_thousands};
pub use config::{
    BoundaryConfig, ChecksConfig, ContextConfig, LanguageConfig, LegalRefusalConfig,
    PriceDisclaimerConfig, PriceGroundingConfig, RequestKind, VehicleGroundingConfig,
};
pub use lexicon::{Lexicon, Mention};
pub use load::Origin;
use okla_text::chat::{Message, Role};

/// Names of the check metrics, in report order.
pub const CHECK_NAMES: [&str; 9] = [
    "non_empty_response",
    "pii_safe",
    "legal_compliance",
    "vehicle_grounding",
    "price_grounding",
    "boundary",
    "legal_refusal",
    "price_disclaimer",
    "language",
];

/// Names of the figures: rates reported beside the checks, never part of a case's verdict.
pub const FIGURE_NAMES: [&str; 1] = ["slang"];

/// One check's verdict on one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckVerdict {
    /// The case passed the check.
    pub pass: bool,
    /// Why it failed: which name, which amount, which sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The slice the case belongs to for this check (e.g. the kind of illegal request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// How many reasons one verdict lists.
const MAX_REASONS: usize = 3;

impl CheckVerdict {
    /// A verdict from the reasons found: passing when there are none, else failing with
    /// the first few.
    pub fn from_reasons(mut reasons: Vec<String>) -> CheckVerdict {
        let mut seen = std::collections::HashSet::new();
        reasons.retain(|r| seen.insert(r.clone()));
        let more = reasons.len().saturating_sub(MAX_REASONS);
        reasons.truncate(MAX_REASONS);
        if more > 0 {
            reasons.push(format!("and {more} more"));
        }
        CheckVerdict {
            pass: reasons.is_empty(),
            reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
            group: None,
        }
    }

    /// A passing or failing verdict without a reason.
    pub fn plain(pass: bool) -> CheckVerdict {
        CheckVerdict {
            pass,
            reason: None,
            group: None,
        }
    }
}

/// Every check's verdict on one case (checks that did not apply are absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CheckResults(pub BTreeMap<String, CheckVerdict>);

impl CheckResults {
    /// The verdict of check `name` (`None`: not applicable).
    pub fn get(&self, name: &str) -> Option<&CheckVerdict> {
        self.0.get(name)
    }

    /// Pass/fail of check `name` (`None`: not applicable).
    pub fn passed(&self, name: &str) -> Option<bool> {
        self.get(name).map(|v| v.pass)
    }

    /// True when no check failed.
    pub fn all_pass(&self) -> bool {
        self.0.values().all(|v| v.pass)
    }

    /// The failed checks with their reasons, in [`CHECK_NAMES`] order.
    pub fn failures(&self) -> impl Iterator<Item = (&'static str, &CheckVerdict)> {
        CHECK_NAMES
            .iter()
            .filter_map(|name| self.get(name).filter(|v| !v.pass).map(|v| (*name, v)))
    }

    fn set(&mut self, name: &str, verdict: Option<CheckVerdict>) {
        if let Some(v) = verdict {
            self.0.insert(name.to_string(), v);
        }
    }
}

/// One turn as the checks see it.
#[derive(Debug, Clone, Copy)]
pub struct Turn<'a> {
    /// The raw model output.
    pub output: &'a str,
    /// The answer object, when the output is strictly valid JSON.
    pub object: Option<&'a Map<String, Value>>,
    /// The messages before the answer.
    pub prompt: &'a [Message],
    /// The conversation's mode.
    pub mode: Option<&'a str>,
    /// The reference answer's intent.
    pub expected_intent: Option<&'a str>,
}

/// The checks' verdicts and figures on one turn.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckOutcome {
    /// Verdicts by check name.
    pub checks: CheckResults,
    /// Figures by name (e.g. `slang`: the response uses a regional word).
    pub figures: BTreeMap<String, bool>,
}

/// The compiled checks of one suite.
#[derive(Debug)]
pub struct Checks {
    response_field: String,
    forbidden: Option<Regex>,
    context: Option<context::ContextReader>,
    vehicle_id_fields: Option<Vec<String>>,
    price_fields: Option<Vec<String>>,
    boundary: Option<boundary::BoundaryRules>,
    refusal: Option<refusal::RefusalRules>,
    disclaimer: Option<disclaimer::DisclaimerRules>,
    language: Option<language::LanguageRules>,
}

impl Checks {
    /// The answer field holding the user-visible text.
    pub fn response_field(&self) -> &str {
        &self.response_field
    }

    /// Run every check on one turn.
    pub fn run(&self, turn: &Turn) -> CheckOutcome {
        let mut out = CheckOutcome::default();
        let checks = &mut out.checks;
        let response = turn
            .object
            .and_then(|o| o.get(&self.response_field))
            .and_then(Value::as_str);
        checks.set(
            "non_empty_response",
            turn.object
                .map(|_| CheckVerdict::plain(response.is_some_and(|r| !r.trim().is_empty()))),
        );
        checks.set("pii_safe", Some(basic::pii_verdict(turn.output)));
        checks.set(
            "legal_compliance",
            Some(basic::forbidden_verdict(
                self.forbidden.as_ref(),
                turn.output,
            )),
        );
        let last_user = turn
            .prompt
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map_or("", |m| m.content.as_str());
        if let Some(rules) = &self.refusal {
            let answer = response.unwrap_or(turn.output);
            checks.set(
                "legal_refusal",
                rules.check(turn.expected_intent, last_user, answer),
            );
        }
        let (Some(object), Some(response)) = (turn.object, response) else {
            return out;
        };
        if let Some(rules) = &self.disclaimer {
            let user_amounts = context::user_amounts(turn.prompt);
            let system = turn.prompt.iter().filter(|m| m.role == Role::System);
            let listed: Vec<Amount> = system
                .flat_map(|m| find_amounts(&m.content, Scan::Quoted))
                .collect();
            checks.set(
                "price_disclaimer",
                rules.check(&user_amounts, &listed, response),
            );
        }
        if let Some(rules) = &self.language {
            checks.set("language", rules.check(response));
            if let Some(uses) = rules.uses_slang(response) {
                out.figures.insert("slang".into(), uses);
            }
        }
        let Some(reader) = &self.context else {
            return out;
        };
        let context = reader.read(turn.prompt, turn.mode);
        let checks = &mut out.checks;
        if let Some(fields) = &self.vehicle_id_fields {
            checks.set(
                "vehicle_grounding",
                grounding::vehicle_grounding(reader, &context, response, object, fields),
            );
        }
        if let Some(fields) = &self.price_fields {
            checks.set(
                "price_grounding",
                grounding::price_grounding(reader, &context, response, object, fields),
            );
        }
        if let Some(rules) = &self.boundary {
            checks.set("boundary", rules.check(reader, &context, response));
        }
        out
    }
}
