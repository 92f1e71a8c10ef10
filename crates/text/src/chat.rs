//! Chat conversations in the OKLA / OpenAI JSONL format:
//! one `{"messages": [{"role": ..., "content": ...}, ...]}` object per line.
//!
//! [`load_jsonl`] reads a file and reports *every* malformed line with its
//! file, line number and field path, never panicking on any input.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use okla_formats::error::{InputError, InputErrors};
use okla_formats::text_file::read_text;

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The system prompt (persona, dealer, inventory or vehicle in context).
    System,
    /// The customer.
    User,
    /// The bot; in OKLA data its content is a JSON object serialized as a string.
    Assistant,
}

impl Role {
    /// The lowercase name used in JSONL files and chat templates.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }

    fn parse(s: &str) -> Option<Role> {
        match s {
            "system" => Some(Role::System),
            "user" => Some(Role::User),
            "assistant" => Some(Role::Assistant),
            _ => None,
        }
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Message {
    /// Who said it.
    pub role: Role,
    /// What was said (for the assistant in OKLA data: a JSON object as a string).
    pub content: String,
}

impl Message {
    /// Convenience constructor.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

/// One conversation: a line of a JSONL file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// The messages, in order.
    pub messages: Vec<Message>,
    /// 1-based line of the file it was read from (0 when built in memory).
    #[serde(skip)]
    pub line: usize,
}

impl Conversation {
    /// The system prompt, if the conversation starts with one.
    pub fn system_prompt(&self) -> Option<&str> {
        self.messages
            .first()
            .filter(|m| m.role == Role::System)
            .map(|m| m.content.as_str())
    }

    /// Indices (into `messages`) of the assistant turns.
    pub fn assistant_turns(&self) -> impl Iterator<Item = usize> + '_ {
        self.messages
            .iter()
            .enumerate()
            .filter(|(_, m)| m.role == Role::Assistant)
            .map(|(i, _)| i)
    }
}

/// Parse one JSONL line into a conversation, naming the failing field.
pub fn parse_line(text: &str, file: &Path, line: usize) -> Result<Conversation, InputError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        InputError::at(
            file,
            line,
            None,
            format!("not valid JSON (column {}): {e}", e.column()),
        )
    })?;
    let obj = value
        .as_object()
        .ok_or_else(|| InputError::at(file, line, None, "expected a JSON object"))?;
    let messages = obj
        .get("messages")
        .ok_or_else(|| InputError::at(file, line, Some("messages".into()), "missing field"))?;
    let messages = messages
        .as_array()
        .ok_or_else(|| InputError::at(file, line, Some("messages".into()), "expected an array"))?;
    if messages.is_empty() {
        return Err(InputError::at(
            file,
            line,
            Some("messages".into()),
            "the conversation has no messages",
        ));
    }
    let mut out = Vec::with_capacity(messages.len());
    for (i, m) in messages.iter().enumerate() {
        let at = |field: &str, msg: String| {
            InputError::at(file, line, Some(format!("messages[{i}]{field}")), msg)
        };
        let m = m
            .as_object()
            .ok_or_else(|| at("", "expected an object".into()))?;
        let role = match m.get("role") {
            None => return Err(at(".role", "missing field".into())),
            Some(Value::String(s)) => Role::parse(s).ok_or_else(|| {
                at(
                    ".role",
                    format!("unknown role {s:?} (expected system, user or assistant)"),
                )
            })?,
            Some(other) => return Err(at(".role", format!("expected a string, got {other}"))),
        };
        let content = match m.get("content") {
            None => return Err(at(".content", "missing field".into())),
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(at(
                    ".content",
                    format!("expected a string, got {}", json_type_name(other)),
                ))
            }
        };
        out.push(Message { role, content });
    }
    Ok(Conversation {
        messages: out,
        line,
    })
}

/// The JSON type name of a value, for error messages.
pub fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Parse a whole JSONL text (blank lines are skipped), collecting every bad line.
pub fn parse_jsonl(text: &str, file: &Path) -> Result<Vec<Conversation>, InputErrors> {
    let mut conversations = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        match parse_line(raw, file, i + 1) {
            Ok(c) => conversations.push(c),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(conversations)
    } else {
        Err(InputErrors(errors))
    }
}

/// Read and parse a JSONL conversations file (UTF-8 without BOM; see
/// [`okla_formats::text_file`]).
pub fn load_jsonl(file: &Path) -> Result<Vec<Conversation>, InputErrors> {
    let text = read_text(file).map_err(|e| InputErrors(vec![e]))?;
    parse_jsonl(&text, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_bad_line_with_field() {
        let text = r#"{"messages":[{"role":"user","content":"klk"}]}
{"messages":[{"role":"bot","content":"x"}]}

{"messages":[{"role":"user"}]}
not json
{"messages":[{"role":"user","content":3}]}"#;
        let errs = parse_jsonl(text, Path::new("t.jsonl")).unwrap_err().0;
        let shown: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(shown.len(), 4, "{shown:#?}");
        assert!(shown[0].starts_with("t.jsonl:2: field `messages[0].role`: unknown role"));
        assert!(shown[1].starts_with("t.jsonl:4: field `messages[0].content`: missing"));
        assert!(shown[2].starts_with("t.jsonl:5: not valid JSON"));
        assert!(shown[3].contains("expected a string, got number"));
    }

    #[test]
    fn parses_good_lines() {
        let text = "{\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":\"u\"},{\"role\":\"assistant\",\"content\":\"{}\"}]}\n";
        let convs = parse_jsonl(text, Path::new("t.jsonl")).unwrap();
        assert_eq!(convs.len(), 1);
        assert_eq!(convs[0].system_prompt(), Some("s"));
        assert_eq!(convs[0].assistant_turns().collect::<Vec<_>>(), vec![2]);
        assert_eq!(convs[0].line, 1);
    }
}
