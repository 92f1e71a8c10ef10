//! The JSON failure taxonomy: why an answer is not one clean JSON object.
//!
//! Strict validity means the whole output, trimmed, is exactly one JSON object.
//! Every other answer gets a [`FailureClass`] that names the fix, and a lenient
//! parse recovers the object where one can be extracted (prose around it, text
//! after it): a high lenient rate with a low strict rate says "fix stopping".

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Why an answer is (or is not) one clean JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// The whole trimmed output is one JSON object.
    Valid,
    /// Nothing but whitespace (or the backend produced no answer).
    Empty,
    /// Prose with no JSON object in it.
    NoJson,
    /// A complete JSON object with prose before it (and maybe after it, or code fences).
    ProseAround,
    /// A complete JSON object followed by more text: the model did not stop.
    TrailingText,
    /// JSON that ends before it is complete: cut off by max_new_tokens or a bad stop.
    Truncated,
    /// Starts like JSON but is not valid JSON (bad quotes, commas, escapes…).
    Malformed,
    /// Valid JSON, but not an object (a string, an array, a number…).
    NotObject,
    /// No answer at all: the backend failed (HTTP error, timeout, lost connection,
    /// engine error). Not the model's failure: a run with any is not evaluated.
    BackendError,
}

impl FailureClass {
    /// Every class, in report order.
    pub const ALL: [FailureClass; 9] = [
        FailureClass::Valid,
        FailureClass::Empty,
        FailureClass::NoJson,
        FailureClass::ProseAround,
        FailureClass::TrailingText,
        FailureClass::Truncated,
        FailureClass::Malformed,
        FailureClass::NotObject,
        FailureClass::BackendError,
    ];

    /// The snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::Valid => "valid",
            FailureClass::Empty => "empty",
            FailureClass::NoJson => "no_json",
            FailureClass::ProseAround => "prose_around",
            FailureClass::TrailingText => "trailing_text",
            FailureClass::Truncated => "truncated",
            FailureClass::Malformed => "malformed",
            FailureClass::NotObject => "not_object",
            FailureClass::BackendError => "backend_error",
        }
    }

    /// What usually causes this class and what to do about it.
    pub fn hint(self) -> &'static str {
        match self {
            FailureClass::Valid => "",
            FailureClass::Empty => "the model produced nothing: check the chat template and that the prompt ends with the assistant header",
            FailureClass::NoJson => "the model answers in prose: it has not learned the response format (more/better training, or a system prompt that asks for JSON)",
            FailureClass::ProseAround => "the JSON is wrapped in prose or code fences: train on bare JSON targets",
            FailureClass::TrailingText => "the model does not stop after the object: train with <|eot_id|> in the labels and stop generation at it",
            FailureClass::Truncated => "answers are cut off: raise max_new_tokens or shorten answers; check the stop token is not hit early",
            FailureClass::Malformed => "the JSON is broken (quotes, commas, escapes): undertrained or quantization damage",
            FailureClass::NotObject => "valid JSON but not an object: the target format is an object",
            FailureClass::BackendError => "the backend gave no answer (HTTP error, timeout, lost connection, engine error): fix the backend and rerun with --resume; this says nothing about the model",
        }
    }
}

/// The result of parsing one answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The failure class (`Valid` when strict parsing succeeded).
    pub class: FailureClass,
    /// The object: present when strictly valid, or when the lenient parse recovered one.
    pub object: Option<Map<String, Value>>,
}

impl Parsed {
    /// True when the whole output is one JSON object.
    pub fn is_valid(&self) -> bool {
        self.class == FailureClass::Valid
    }

    /// The strictly valid object, if any.
    pub fn strict_object(&self) -> Option<&Map<String, Value>> {
        self.object.as_ref().filter(|_| self.is_valid())
    }
}

/// How many `{` positions the lenient search tries inside prose before giving up.
const MAX_CANDIDATES: usize = 32;

/// Classify an answer and extract its object (strictly or leniently).
pub fn classify(output: &str) -> Parsed {
    let text = output.trim();
    if text.is_empty() {
        return Parsed {
            class: FailureClass::Empty,
            object: None,
        };
    }
    if text.starts_with('{') || text.starts_with('[') {
        return classify_json_start(text);
    }
    // Starts with prose (or a code fence, or a scalar).
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        return Parsed {
            class: FailureClass::NotObject,
            object: object_of(value),
        };
    }
    let mut cut_off = false;
    for (start, _) in text.match_indices('{').take(MAX_CANDIDATES) {
        match first_value(&text[start..]) {
            FirstValue::Object(object, _) => {
                return Parsed {
                    class: FailureClass::ProseAround,
                    object: Some(object),
                };
            }
            FirstValue::Eof => cut_off |= looks_like_object_start(&text[start..]),
            FirstValue::Other => {}
        }
    }
    let class = if cut_off {
        FailureClass::Truncated
    } else {
        FailureClass::NoJson
    };
    Parsed {
        class,
        object: None,
    }
}

fn classify_json_start(text: &str) -> Parsed {
    match first_value(text) {
        FirstValue::Object(object, rest) => {
            let class = if rest.trim().is_empty() {
                FailureClass::Valid
            } else {
                FailureClass::TrailingText
            };
            Parsed {
                class,
                object: Some(object),
            }
        }
        FirstValue::Eof => Parsed {
            class: FailureClass::Truncated,
            object: None,
        },
        FirstValue::Other => match serde_json::from_str::<Value>(text) {
            Ok(_) => Parsed {
                class: FailureClass::NotObject,
                object: None,
            },
            Err(e) if e.is_eof() => Parsed {
                class: FailureClass::Truncated,
                object: None,
            },
            Err(_) => Parsed {
                class: FailureClass::Malformed,
                object: None,
            },
        },
    }
}

enum FirstValue<'a> {
    /// An object, and the text after it.
    Object(Map<String, Value>, &'a str),
    /// The input ended inside the value.
    Eof,
    /// Not an object, or broken JSON.
    Other,
}

fn first_value(text: &str) -> FirstValue<'_> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    match stream.next() {
        Some(Ok(Value::Object(object))) => {
            FirstValue::Object(object, &text[stream.byte_offset()..])
        }
        Some(Err(e)) if e.is_eof() => FirstValue::Eof,
        _ => FirstValue::Other,
    }
}

/// `{` followed (after whitespace) by `"` or `}`: the start of a JSON object rather than prose braces.
fn looks_like_object_start(text: &str) -> bool {
    matches!(
        text[1..].trim_start().chars().next(),
        None | Some('"') | Some('}')
    )
}

fn object_of(value: Value) -> Option<Map<String, Value>> {
    match value {
        Value::Object(o) => Some(o),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> FailureClass {
        classify(s).class
    }

    #[test]
    fn names_every_class() {
        assert_eq!(class(" {\"a\": 1}\n"), FailureClass::Valid);
        assert_eq!(class("  \n"), FailureClass::Empty);
        assert_eq!(
            class("Hola, la yipeta cuesta 2 millones."),
            FailureClass::NoJson
        );
        assert_eq!(
            class("Claro: {\"a\": 1} ¿algo más?"),
            FailureClass::ProseAround
        );
        assert_eq!(class("```json\n{\"a\": 1}\n```"), FailureClass::ProseAround);
        assert_eq!(class("{\"a\": 1}\nuser: klk"), FailureClass::TrailingText);
        assert_eq!(class("{\"a\": 1}{\"b\": 2}"), FailureClass::TrailingText);
        assert_eq!(class("{\"response\": \"Hola"), FailureClass::Truncated);
        assert_eq!(
            class("Aquí: {\"response\": \"Hola"),
            FailureClass::Truncated
        );
        assert_eq!(class("{'a': 1}"), FailureClass::Malformed);
        assert_eq!(class("{\"a\": 1,}"), FailureClass::Malformed);
        assert_eq!(class("[1, 2]"), FailureClass::NotObject);
        assert_eq!(class("\"just a string\""), FailureClass::NotObject);
        assert_eq!(class("42"), FailureClass::NotObject);
        assert_eq!(class("Hola {nombre}, bienvenido"), FailureClass::NoJson);
    }

    #[test]
    fn lenient_parse_recovers_the_object() {
        let p = classify("{\"intent\": \"Greeting\"} extra");
        assert_eq!(p.object.unwrap()["intent"], "Greeting");
        assert!(classify("{\"intent\": \"Greeting\"} extra")
            .strict_object()
            .is_none());
        assert!(classify("{\"a\":1}").strict_object().is_some());
    }
}
