//! One line of `predictions.jsonl`: the format's single owner.
//!
//! The scorer writes a line per case ([`CaseResult`](crate::score::CaseResult), through
//! [`render_predictions`](crate::report::render_predictions)); the http backend's
//! `partial.jsonl` journal writes the answer part of the same line as each case finishes.
//! Everything that reads an answer back — the replay backend, resuming an http run —
//! reads it as a [`PredictionLine`] through [`PredictionLine::parse`]; golden snapshots
//! read a scored line back whole, as the [`CaseResult`] the scorer wrote.
//!
//! Only the case id and the raw output are required, so any JSONL with `id` + `output`
//! per line is a predictions file (also accepted: `case_id`; `text` or `prediction`).
//! Every other field is optional (absent and `null` alike) and, when present, must have
//! its type; unknown fields (a run's scores) are ignored. Each bad line is an input error
//! naming file, line and field.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::backend::{Generation, Timing};
use crate::score::CaseResult;
use okla_formats::error::InputError;

/// The file name of a run's per-case results.
pub const PREDICTIONS_JSONL: &str = "predictions.jsonl";

/// The keys a case id is read from, in order of preference.
const ID_KEYS: [&str; 2] = ["id", "case_id"];
/// The keys the raw output is read from, in order of preference.
const OUTPUT_KEYS: [&str; 3] = ["output", "text", "prediction"];

/// A recorded answer, as one JSON line (the `partial.jsonl` journal's shape; the part of
/// a `predictions.jsonl` line that is read back).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictionLine {
    /// Case id.
    pub id: String,
    /// Raw model output (empty when `error` is set).
    pub output: String,
    /// Prompt tokens, when the backend reported them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<u32>,
    /// Generated tokens, when the backend reported them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_tokens: Option<u32>,
    /// Why generation stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// Total time of the answer in seconds (journal lines; `predictions.jsonl` leaves it out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_s: Option<f64>,
    /// Time to first token in seconds (streamed answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttft_s: Option<f64>,
    /// Why there is no answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The case passed every per-case criterion (scored lines only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passed: Option<bool>,
}

impl PredictionLine {
    /// The line recording `generation` for case `id` (not scored yet: no `passed`).
    pub fn new(id: &str, generation: &Generation) -> Self {
        Self {
            id: id.to_string(),
            output: generation.text.clone(),
            prompt_tokens: generation.prompt_tokens,
            completion_tokens: generation.completion_tokens,
            finish_reason: generation.finish_reason.clone(),
            latency_s: generation.timing.map(|t| t.total.as_secs_f64()),
            ttft_s: generation
                .timing
                .and_then(|t| t.first_token)
                .map(|d| d.as_secs_f64()),
            error: generation.error.clone(),
            passed: None,
        }
    }

    /// Read line number `line` (1-based) of `path`.
    pub fn parse(raw: &str, path: &Path, line: usize) -> Result<Self, InputError> {
        let at = |field: Option<&str>, message: String| {
            InputError::at(path, line, field.map(String::from), message)
        };
        let value: Value =
            serde_json::from_str(raw).map_err(|e| at(None, format!("not valid JSON: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| at(None, "expected a JSON object".into()))?;
        let required = |keys: &[&str], missing: &str| match keys
            .iter()
            .find_map(|k| obj.get(*k).map(|v| (*k, v)))
        {
            Some((_, Value::String(s))) => Ok(s.clone()),
            Some((k, _)) => Err(at(Some(k), "expected a string".into())),
            None => Err(at(Some(keys[0]), missing.into())),
        };
        let id = required(&ID_KEYS, "missing field")?;
        let output = required(
            &OUTPUT_KEYS,
            "missing field (also accepted: text, prediction)",
        )?;
        let field = Fields { obj, at: &at };
        let tokens = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
        let string = |v: &Value| v.as_str().map(String::from);
        let seconds = |v: &Value| {
            v.as_f64()
                .filter(|s| Duration::try_from_secs_f64(*s).is_ok())
        };
        const TOKENS: &str = "expected a whole number of tokens";
        const SECONDS: &str = "expected a duration in seconds ≥ 0";
        Ok(Self {
            id,
            output,
            prompt_tokens: field.optional("prompt_tokens", tokens, TOKENS)?,
            completion_tokens: field.optional("completion_tokens", tokens, TOKENS)?,
            finish_reason: field.optional("finish_reason", string, "expected a string")?,
            latency_s: field.optional("latency_s", seconds, SECONDS)?,
            ttft_s: field.optional("ttft_s", seconds, SECONDS)?,
            error: field.optional("error", string, "expected a string")?,
            passed: field.optional("passed", Value::as_bool, "expected true or false")?,
        })
    }

    /// Every non-blank line of `text` (the contents of `path`), with its 1-based number.
    pub fn parse_all<'a>(
        text: &'a str,
        path: &'a Path,
    ) -> impl Iterator<Item = (usize, Result<Self, InputError>)> + 'a {
        text.lines()
            .enumerate()
            .filter(|(_, raw)| !raw.trim().is_empty())
            .map(move |(i, raw)| (i + 1, Self::parse(raw, path, i + 1)))
    }

    /// Back to the case id and its [`Generation`].
    pub fn into_generation(self) -> (String, Generation) {
        // `parse` admits only durations that convert; a line built in code may hold any.
        let seconds = |s: Option<f64>| s.and_then(|s| Duration::try_from_secs_f64(s).ok());
        let generation = Generation {
            text: self.output,
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.completion_tokens,
            finish_reason: self.finish_reason,
            timing: seconds(self.latency_s).map(|total| Timing {
                total,
                first_token: seconds(self.ttft_s),
            }),
            error: self.error,
        };
        (self.id, generation)
    }
}

impl From<&CaseResult> for PredictionLine {
    /// What reading back the scorer's line for `case` gives.
    fn from(case: &CaseResult) -> Self {
        Self {
            id: case.id.clone(),
            output: case.output.clone(),
            prompt_tokens: case.prompt_tokens,
            completion_tokens: case.completion_tokens,
            finish_reason: case.finish_reason.clone(),
            // Timings are kept out of `predictions.jsonl` (see `CaseResult::latency_s`).
            latency_s: None,
            ttft_s: None,
            error: case.error.clone(),
            passed: Some(case.passed),
        }
    }
}

/// The optional fields of one line's object.
struct Fields<'a, F> {
    obj: &'a Map<String, Value>,
    at: &'a F,
}

impl<F: Fn(Option<&str>, String) -> InputError> Fields<'_, F> {
    /// `key`'s value converted, `None` when absent or `null`, an error naming `key` when
    /// `convert` refuses it.
    fn optional<T>(
        &self,
        key: &str,
        convert: impl Fn(&Value) -> Option<T>,
        expected: &str,
    ) -> Result<Option<T>, InputError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => convert(v)
                .map(Some)
                .ok_or_else(|| (self.at)(Some(key), expected.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(raw: &str) -> Result<PredictionLine, InputError> {
        PredictionLine::parse(raw, Path::new("p.jsonl"), 7)
    }

    #[test]
    fn minimal_lines_and_alternate_keys_are_accepted() {
        let line = parse("{\"case_id\":\"b\",\"text\":\"y\",\"score\":{\"json\":true}}").unwrap();
        assert_eq!((line.id.as_str(), line.output.as_str()), ("b", "y"));
        assert_eq!(line.prompt_tokens, None);
        let line = parse("{\"id\":\"a\",\"prediction\":\"z\",\"error\":null}").unwrap();
        assert_eq!((line.output.as_str(), line.error), ("z", None));
    }

    #[test]
    fn bad_lines_name_line_and_field() {
        let err = |raw: &str| {
            let e = parse(raw).unwrap_err();
            assert_eq!(e.line, Some(7));
            (e.field, e.message)
        };
        assert_eq!(err("not json").0, None);
        assert_eq!(err("[1]").1, "expected a JSON object");
        assert_eq!(
            err("{\"id\":\"c\"}"),
            (
                Some("output".into()),
                "missing field (also accepted: text, prediction)".into()
            )
        );
        assert_eq!(
            err("{\"id\":\"c\",\"text\":7}"),
            (Some("text".into()), "expected a string".into())
        );
        assert_eq!(
            err("{\"id\":\"c\",\"output\":\"\",\"ttft_s\":-1}")
                .0
                .as_deref(),
            Some("ttft_s")
        );
        assert_eq!(
            err("{\"id\":\"c\",\"output\":\"\",\"completion_tokens\":1.5}")
                .0
                .as_deref(),
            Some("completion_tokens")
        );
    }

    #[test]
    fn parse_all_skips_blank_lines_and_keeps_numbers() {
        let text = "{\"id\":\"a\",\"output\":\"\"}\n\n  \n{\"id\":\"b\"}\n";
        let lines: Vec<_> = PredictionLine::parse_all(text, Path::new("p")).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].0, 4);
        assert!(lines[1].1.is_err());
    }

    #[test]
    fn the_scorers_lines_read_back() {
        let case = CaseResult {
            id: "okla_test:3:1".into(),
            mode: None,
            turn: 1,
            output: "{\"intent\":\"Greeting\"}".into(),
            parsed: None,
            class: crate::score::FailureClass::Valid,
            lenient_valid: true,
            schema_valid: true,
            schema_errors: Vec::new(),
            fields_complete: true,
            field_problems: Vec::new(),
            expected_intent: None,
            predicted_intent: None,
            intent_correct: false,
            checks: Default::default(),
            figures: Default::default(),
            prompt_tokens: Some(40),
            completion_tokens: None,
            finish_reason: Some("stop".into()),
            latency_s: Some(1.5),
            ttft_s: None,
            error: None,
            passed: true,
        };
        let written = crate::report::render_predictions(std::slice::from_ref(&case)).unwrap();
        let read: Vec<_> = PredictionLine::parse_all(&written, Path::new("p"))
            .map(|(_, line)| line.unwrap())
            .collect();
        assert_eq!(read, [PredictionLine::from(&case)]);
    }

    proptest! {
        #[test]
        fn journal_lines_round_trip(
            text in ".{0,40}",
            tokens in prop::option::of(0u32..100_000),
            millis in prop::option::of(0u64..10_000_000),
            error in prop::option::of("[a-z ]{1,20}"),
        ) {
            let generation = Generation {
                text,
                prompt_tokens: tokens,
                completion_tokens: tokens,
                finish_reason: None,
                timing: millis.map(|m| Timing { total: Duration::from_millis(m), first_token: None }),
                error,
            };
            let json = serde_json::to_string(&PredictionLine::new("case", &generation)).unwrap();
            let back = PredictionLine::parse(&json, Path::new("p"), 1).unwrap();
            let (id, again) = back.into_generation();
            prop_assert_eq!(id, "case");
            prop_assert_eq!(again, generation);
        }
    }
}
