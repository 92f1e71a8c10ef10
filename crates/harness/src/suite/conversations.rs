//! What a suite's conversations must hold beyond the chat format (which
//! [`okla_text::chat`] checks): each conversation has an assistant turn to score or
//! learn from, and every assistant turn — a reference answer — is a JSON object, as the
//! answers the suite grades must be. `data lint` reports the same problems as findings;
//! a suite refuses to load with them.

use std::path::Path;

use serde_json::Value;

use okla_formats::error::InputError;
use okla_text::chat::{json_type_name, Conversation};

/// Every problem of `conversations` (read from `path`), each naming its line and field.
pub fn check_conversations(conversations: &[Conversation], path: &Path) -> Vec<InputError> {
    let mut errors = Vec::new();
    for conversation in conversations {
        let at = |field: String, message: String| {
            InputError::at(path, conversation.line, Some(field), message)
        };
        let mut turns = conversation.assistant_turns().peekable();
        if turns.peek().is_none() {
            errors.push(at(
                "messages".into(),
                "the conversation has no assistant turn: nothing to score".into(),
            ));
        }
        for i in turns {
            let content = &conversation.messages[i].content;
            let problem = match serde_json::from_str::<Value>(content) {
                Ok(Value::Object(_)) => continue,
                Ok(other) => format!(
                    "the reference answer is JSON but a {}, not an object",
                    json_type_name(&other)
                ),
                Err(e) => format!("the reference answer is not JSON ({e})"),
            };
            errors.push(at(format!("messages[{i}].content"), problem));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use okla_text::chat::parse_jsonl;

    #[test]
    fn missing_turns_and_non_json_references_are_located() {
        let text = r#"{"messages":[{"role":"user","content":"klk"},{"role":"assistant","content":"{\"intent\":\"Greeting\"}"}]}
{"messages":[{"role":"system","content":"s"},{"role":"user","content":"klk"}]}
{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"Hola!"},{"role":"user","content":"b"},{"role":"assistant","content":"[1]"}]}"#;
        let path = Path::new("cases.jsonl");
        let conversations = parse_jsonl(text, path).unwrap();
        let shown: Vec<String> = check_conversations(&conversations, path)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown.len(), 3, "{shown:#?}");
        assert_eq!(
            shown[0],
            "cases.jsonl:2: field `messages`: the conversation has no assistant turn: nothing to score"
        );
        assert!(
            shown[1].starts_with(
                "cases.jsonl:3: field `messages[1].content`: the reference answer is not JSON"
            ),
            "{}",
            shown[1]
        );
        assert!(shown[2].ends_with("field `messages[3].content`: the reference answer is JSON but a array, not an object"), "{}", shown[2]);
    }
}
