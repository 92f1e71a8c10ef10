//! Scoring one answer: parse → failure class → schema → required fields → intent → domain checks.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use std::collections::BTreeMap;
use std::sync::Arc;

use super::checks::{CheckResults, Checks, Turn};
use super::classify::{classify, FailureClass};
use super::field_probe::string_field;
use super::fields::{field_problems, required_fields, RequiredField};
use crate::backend::Generation;
use crate::suite::{Case, Suite};

/// Everything we learned about one answer. One line of `predictions.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    /// The case id (`<file stem>:<line>:<turn>`).
    pub id: String,
    /// The conversation's mode, if a marker matched.
    pub mode: Option<String>,
    /// 0-based assistant turn index in the conversation.
    pub turn: usize,
    /// The raw model output.
    pub output: String,
    /// The parsed object (strictly, or recovered leniently).
    pub parsed: Option<Value>,
    /// Why the output is not one clean JSON object (`valid` when it is).
    pub class: FailureClass,
    /// A JSON object could be extracted (strictly or leniently).
    pub lenient_valid: bool,
    /// The strict object satisfies the response schema.
    pub schema_valid: bool,
    /// Schema violations as `path: message`.
    pub schema_errors: Vec<String>,
    /// Every required field is present with the schema's type.
    pub fields_complete: bool,
    /// Missing or mistyped required fields.
    pub field_problems: Vec<String>,
    /// The intent in the reference answer.
    pub expected_intent: Option<String>,
    /// The intent in the strict answer.
    pub predicted_intent: Option<String>,
    /// The intents match exactly (invalid JSON counts as wrong).
    pub intent_correct: bool,
    /// Domain checks that applied to this case: verdict and, when failing, the reason.
    pub checks: CheckResults,
    /// Figures (reported rates that never fail a case), e.g. `slang`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub figures: BTreeMap<String, bool>,
    /// Prompt tokens, when the backend reported them.
    pub prompt_tokens: Option<u32>,
    /// Generated tokens, when the backend reported them.
    pub completion_tokens: Option<u32>,
    /// Why generation stopped, when known.
    pub finish_reason: Option<String>,
    /// Total latency in seconds, when measured. Kept out of `predictions.jsonl` (timings
    /// differ between reruns, predictions must not): the run folder's `timings.csv` has it.
    #[serde(default, skip_serializing)]
    pub latency_s: Option<f64>,
    /// Time to first token in seconds, when measured (in `timings.csv`, like `latency_s`).
    #[serde(default, skip_serializing)]
    pub ttft_s: Option<f64>,
    /// The backend's error for this case, if it produced no answer.
    pub error: Option<String>,
    /// Passed every per-case criterion (valid, schema, fields, intent, checks).
    pub passed: bool,
}

impl CaseResult {
    /// The first criterion this case failed: its failure class when the JSON is not valid,
    /// else `schema`, `fields`, `intent` or `check` (`passed` when none failed).
    pub fn failure_kind(&self) -> &'static str {
        if self.class != FailureClass::Valid {
            self.class.as_str()
        } else if !self.fields_complete {
            "fields"
        } else if !self.schema_valid {
            "schema"
        } else if self.expected_intent.is_some() && !self.intent_correct {
            "intent"
        } else if !self.passed {
            "check"
        } else {
            "passed"
        }
    }

    /// Short human explanation of why the case failed (empty when it passed).
    pub fn why(&self) -> String {
        let mut reasons = Vec::new();
        if let Some(e) = &self.error {
            reasons.push(format!("backend error: {e}"));
        } else if self.class != FailureClass::Valid {
            reasons.push(format!("{}: {}", self.class.as_str(), self.class.hint()));
        }
        if self.class == FailureClass::Valid {
            reasons.extend(self.field_problems.iter().cloned());
            reasons.extend(self.schema_errors.iter().map(|e| format!("schema: {e}")));
            if self.expected_intent.is_some() && !self.intent_correct {
                reasons.push(format!(
                    "intent: expected {}, got {}",
                    self.expected_intent.as_deref().unwrap_or("?"),
                    self.predicted_intent.as_deref().unwrap_or("none")
                ));
            }
        }
        for (name, verdict) in self.checks.failures() {
            match &verdict.reason {
                Some(reason) => reasons.push(format!("{name}: {reason}")),
                None => reasons.push(format!("{name} failed")),
            }
        }
        reasons.join("; ")
    }
}

/// Scores answers against a suite's schema, required fields, intents and checks.
pub struct Scorer {
    validator: jsonschema::Validator,
    required: Vec<RequiredField>,
    intent_field: Option<String>,
    checks: Arc<Checks>,
}

/// How many schema errors are kept per answer.
const MAX_SCHEMA_ERRORS: usize = 8;

impl Scorer {
    /// Build a scorer for a loaded suite.
    pub fn new(suite: &Suite) -> anyhow::Result<Self> {
        let validator = jsonschema::validator_for(&suite.schema)
            .map_err(|e| anyhow::anyhow!("compiling the response schema: {e}"))?;
        Ok(Self {
            validator,
            required: required_fields(&suite.manifest.required_fields, &suite.schema),
            intent_field: suite.manifest.intent_field.clone(),
            checks: Arc::clone(&suite.checks),
        })
    }

    /// Score one generated answer for `case`.
    pub fn score(&self, case: &Case, generation: &Generation) -> CaseResult {
        let parsed = classify(&generation.text);
        let class = if generation.error.is_some() {
            FailureClass::BackendError
        } else {
            parsed.class
        };
        let lenient_valid = parsed.object.is_some();
        let object = parsed.object.map(Value::Object);
        let strict: Option<&Map<String, Value>> = object
            .as_ref()
            .filter(|_| class == FailureClass::Valid)
            .and_then(Value::as_object);

        let (schema_valid, schema_errors) = match strict {
            Some(_) => self.schema_check(object.as_ref().expect("strict implies object")),
            None => (false, Vec::new()),
        };
        let field_problems = strict
            .map(|o| field_problems(o, &self.required))
            .unwrap_or_default();
        let fields_complete = strict.is_some() && field_problems.is_empty();

        let expected_intent = self.intent_of_reference(&case.reference);
        let predicted_intent = strict.and_then(|o| self.intent_of(o));
        let intent_correct = expected_intent.is_some() && expected_intent == predicted_intent;

        let outcome = self.checks.run(&Turn {
            output: &generation.text,
            object: strict,
            prompt: &case.prompt,
            mode: case.mode.as_deref(),
            expected_intent: expected_intent.as_deref(),
        });

        let passed = class == FailureClass::Valid
            && schema_valid
            && fields_complete
            && (expected_intent.is_none() || intent_correct)
            && outcome.checks.all_pass();
        let timing = generation.timing;
        CaseResult {
            id: case.id.clone(),
            mode: case.mode.clone(),
            turn: case.turn,
            output: generation.text.clone(),
            parsed: object,
            class,
            lenient_valid,
            schema_valid,
            schema_errors,
            fields_complete,
            field_problems,
            expected_intent,
            predicted_intent,
            intent_correct,
            checks: outcome.checks,
            figures: outcome.figures,
            prompt_tokens: generation.prompt_tokens,
            completion_tokens: generation.completion_tokens,
            finish_reason: generation.finish_reason.clone(),
            latency_s: timing.map(|t| t.total.as_secs_f64()),
            ttft_s: timing.and_then(|t| t.first_token).map(|d| d.as_secs_f64()),
            error: generation.error.clone(),
            passed,
        }
    }

    fn schema_check(&self, value: &Value) -> (bool, Vec<String>) {
        if self.validator.is_valid(value) {
            return (true, Vec::new());
        }
        let errors = self
            .validator
            .iter_errors(value)
            .take(MAX_SCHEMA_ERRORS)
            .map(|e| {
                let path = e.instance_path().to_string();
                let path = if path.is_empty() {
                    "/".to_string()
                } else {
                    path
                };
                format!("{path}: {e}")
            })
            .collect();
        (false, errors)
    }

    fn intent_of(&self, object: &Map<String, Value>) -> Option<String> {
        let field = self.intent_field.as_deref()?;
        object.get(field).and_then(Value::as_str).map(String::from)
    }

    fn intent_of_reference(&self, reference: &str) -> Option<String> {
        string_field(reference, self.intent_field.as_deref()?)
    }
}
