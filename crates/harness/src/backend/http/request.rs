//! The body of a chat-completions request: the conversation plus the suite's decoding
//! settings, in the field names OpenAI, vLLM and llama.cpp servers understand.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::options::{ResponseFormat, ResponseFormatStyle};
use crate::suite::{Decoding, Message};

/// The schema name sent with `json_schema` response formats.
const SCHEMA_NAME: &str = "okla_response";

/// What every request of a run shares besides the conversation.
#[derive(Debug, Clone, Copy)]
pub struct RequestShape<'a> {
    /// The `model` field, when known.
    pub model: Option<&'a str>,
    /// Decoding settings of the suite.
    pub decoding: &'a Decoding,
    /// Ask for an SSE stream.
    pub stream: bool,
    /// Output constraint, when enabled.
    pub response_format: Option<&'a ResponseFormat>,
}

/// The JSON body of one chat-completions request for case `case_id`.
pub fn chat_body(case_id: &str, messages: &[Message], shape: &RequestShape<'_>) -> Value {
    let d = shape.decoding;
    let mut body = Map::new();
    if let Some(model) = shape.model {
        body.insert("model".into(), json!(model));
    }
    let messages: Vec<Value> = messages
        .iter()
        .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
        .collect();
    body.insert("messages".into(), Value::Array(messages));
    body.insert("max_tokens".into(), json!(d.max_new_tokens));
    body.insert("temperature".into(), json!(d.temperature));
    body.insert("top_p".into(), json!(d.top_p));
    body.insert("seed".into(), json!(request_seed(d, case_id)));
    // llama.cpp (and llama-cpp-python) read `repeat_penalty`, vLLM `repetition_penalty`;
    // each ignores the other's name.
    body.insert("repeat_penalty".into(), json!(d.repetition_penalty));
    body.insert("repetition_penalty".into(), json!(d.repetition_penalty));
    body.insert("stream".into(), json!(shape.stream));
    if shape.stream {
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    if let Some(format) = shape.response_format {
        body.insert("response_format".into(), response_format(format));
    }
    Value::Object(body)
}

/// The seed sent for one case: the run's seed when decoding is greedy (it changes
/// nothing), else one derived from the run's seed and the case id, so every case — and
/// every draw of a repeated case, whose id differs — samples its own stream, the same on
/// every rerun. One seed for every request would make a server's repeated draws of a
/// prompt identical, and repeats meaningless.
pub fn request_seed(decoding: &Decoding, case_id: &str) -> u64 {
    if decoding.is_greedy() {
        return decoding.seed;
    }
    let digest = Sha256::digest(case_id.as_bytes());
    let stream = u32::from_le_bytes(digest[..4].try_into().expect("4 bytes"));
    // Servers keep seeds in 32 bits (llama.cpp's `uint32_t`).
    u64::from((decoding.seed as u32) ^ stream)
}

fn response_format(format: &ResponseFormat) -> Value {
    if format.schema.is_null() {
        return json!({"type": "json_object"});
    }
    match format.style {
        ResponseFormatStyle::JsonSchema => json!({
            "type": "json_schema",
            "json_schema": {"name": SCHEMA_NAME, "schema": format.schema, "strict": true},
        }),
        ResponseFormatStyle::JsonObject => json!({"type": "json_object", "schema": format.schema}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::Role;

    #[test]
    fn body_carries_decoding_and_both_penalty_names() {
        let decoding = Decoding::production();
        let format = ResponseFormat {
            style: ResponseFormatStyle::JsonSchema,
            schema: json!({"type": "object"}),
        };
        let shape = RequestShape {
            model: Some("okla"),
            decoding: &decoding,
            stream: true,
            response_format: Some(&format),
        };
        let messages = [
            Message::new(Role::System, "sys"),
            Message::new(Role::User, "klk"),
        ];
        let body = chat_body("c:1:0", &messages, &shape);
        assert_eq!(body["model"], "okla");
        assert_eq!(
            body["messages"][1],
            json!({"role": "user", "content": "klk"})
        );
        assert_eq!(body["max_tokens"], 600);
        assert_eq!(body["seed"], request_seed(&decoding, "c:1:0"));
        assert_ne!(
            request_seed(&decoding, "c:1:0#1"),
            request_seed(&decoding, "c:1:0#2")
        );
        assert_eq!(request_seed(&Decoding::default(), "c:1:0#2"), 42);
        assert_eq!(body["temperature"].as_f64().unwrap() as f32, 0.3);
        assert_eq!(body["repeat_penalty"], body["repetition_penalty"]);
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["response_format"]["type"], "json_schema");
        assert_eq!(
            body["response_format"]["json_schema"]["schema"],
            json!({"type": "object"})
        );
    }

    #[test]
    fn plain_request_leaves_optional_fields_out() {
        let decoding = Decoding::default();
        let shape = RequestShape {
            model: None,
            decoding: &decoding,
            stream: false,
            response_format: None,
        };
        let body = chat_body("c:1:0", &[Message::new(Role::User, "hola")], &shape);
        for absent in ["model", "stream_options", "response_format"] {
            assert!(body.get(absent).is_none(), "{absent}");
        }
        assert_eq!(body["stream"], false);
        assert_eq!(body["temperature"], 0.0);
        let any_object = ResponseFormat {
            style: ResponseFormatStyle::JsonSchema,
            schema: Value::Null,
        };
        assert_eq!(response_format(&any_object), json!({"type": "json_object"}));
    }
}
