//! The Llama 3 chat template, implemented in Rust with the exact semantics of the
//! Jinja template shipped in Meta-Llama-3-8B-Instruct's `tokenizer_config.json`
//! (as rendered by Hugging Face `apply_chat_template`):
//!
//! ```text
//! {% set loop_messages = messages %}{% for message in loop_messages %}
//! {% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'
//!    + message['content'] | trim + '<|eot_id|>' %}
//! {% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}
//! {{ content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
//! ```
//!
//! So: BOS once before the first message, every content trimmed the way Jinja's
//! `trim` filter (Python `str.strip()`) trims, and the assistant header (the
//! generation prompt) always appended — this template ignores `add_generation_prompt`.

use std::ops::Range;
use std::path::Path;

use serde_json::Value;

use crate::chat::Message;
use okla_formats::error::InputError;

/// The `chat_template` string this module implements, byte for byte.
pub const LLAMA3_CHAT_TEMPLATE: &str = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}";

/// The special token that opens a message header.
pub const START_HEADER: &str = "<|start_header_id|>";
/// The special token that closes a message header.
pub const END_HEADER: &str = "<|end_header_id|>";
/// The special token that ends every message; generation stops at it.
pub const EOT: &str = "<|eot_id|>";

/// The Llama 3 chat template with the BOS token its `tokenizer_config.json` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Llama3Template {
    /// The text of the beginning-of-sequence token (`<|begin_of_text|>`).
    pub bos_token: String,
}

/// A rendered conversation: the prompt text and where assistant content lies in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedChat {
    /// The full text, special tokens written out (tokenize with them recognised).
    pub text: String,
    /// For each assistant message, in order, the byte range of its trimmed content
    /// followed by its `<|eot_id|>` (what training puts labels on).
    pub assistant_spans: Vec<Range<usize>>,
}

impl Llama3Template {
    /// Read the template from a `tokenizer_config.json` text, refusing any chat
    /// template other than the Llama 3 one (which is all this module implements).
    pub fn from_config(config_json: &str, path: &Path) -> Result<Self, InputError> {
        let config: Value = serde_json::from_str(config_json)
            .map_err(|e| InputError::at(path, e.line(), None, format!("not valid JSON: {e}")))?;
        match config.get("chat_template") {
            Some(Value::String(t)) if t == LLAMA3_CHAT_TEMPLATE => {}
            Some(Value::String(_)) => {
                return Err(InputError::file(
                    path,
                    "unsupported chat template (only the Llama 3 template is implemented)",
                )
                .with_field("chat_template"))
            }
            _ => {
                return Err(
                    InputError::file(path, "missing or not a string").with_field("chat_template")
                )
            }
        }
        // Older configs write special tokens as {"content": "..."} objects.
        let bos_token = match config.get("bos_token") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Object(o)) => match o.get("content") {
                Some(Value::String(s)) => s.clone(),
                _ => {
                    return Err(
                        InputError::file(path, "expected a string").with_field("bos_token.content")
                    )
                }
            },
            _ => {
                return Err(
                    InputError::file(path, "missing or not a string").with_field("bos_token")
                )
            }
        };
        Ok(Self { bos_token })
    }

    /// Render messages exactly as `apply_chat_template` does with this template.
    pub fn render(&self, messages: &[Message]) -> RenderedChat {
        let capacity = messages.iter().map(|m| m.content.len() + 64).sum::<usize>() + 64;
        let mut text = String::with_capacity(capacity);
        let mut assistant_spans = Vec::new();
        for (index, message) in messages.iter().enumerate() {
            if index == 0 {
                text.push_str(&self.bos_token);
            }
            text.push_str(START_HEADER);
            text.push_str(message.role.as_str());
            text.push_str(END_HEADER);
            text.push_str("\n\n");
            let start = text.len();
            text.push_str(jinja_trim(&message.content));
            text.push_str(EOT);
            if message.role == crate::chat::Role::Assistant {
                assistant_spans.push(start..text.len());
            }
        }
        text.push_str(START_HEADER);
        text.push_str("assistant");
        text.push_str(END_HEADER);
        text.push_str("\n\n");
        RenderedChat {
            text,
            assistant_spans,
        }
    }
}

/// True for the characters Python's `str.isspace()` accepts (what Jinja's `trim`
/// strips): Unicode White_Space plus the separators U+001C..U+001F.
pub fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Jinja's `trim` filter: Python `str.strip()` with no arguments.
pub fn jinja_trim(s: &str) -> &str {
    s.trim_matches(is_python_space)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::Role;

    fn template() -> Llama3Template {
        Llama3Template {
            bos_token: "<|begin_of_text|>".into(),
        }
    }

    #[test]
    fn renders_bos_once_headers_trim_and_generation_prompt() {
        let messages = [
            Message::new(Role::System, " sys \n"),
            Message::new(Role::User, "klk"),
            Message::new(Role::Assistant, "\u{1f}{\"a\":1}\u{a0}"),
        ];
        let r = template().render(&messages);
        assert_eq!(
            r.text,
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nsys<|eot_id|>\
             <|start_header_id|>user<|end_header_id|>\n\nklk<|eot_id|>\
             <|start_header_id|>assistant<|end_header_id|>\n\n{\"a\":1}<|eot_id|>\
             <|start_header_id|>assistant<|end_header_id|>\n\n"
        );
        assert_eq!(r.assistant_spans.len(), 1);
        assert_eq!(&r.text[r.assistant_spans[0].clone()], "{\"a\":1}<|eot_id|>");
    }

    #[test]
    fn no_messages_gives_only_the_generation_prompt() {
        let r = template().render(&[]);
        assert_eq!(r.text, "<|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    #[test]
    fn config_must_hold_the_llama3_template() {
        let good = serde_json::json!({"chat_template": LLAMA3_CHAT_TEMPLATE, "bos_token": {"content": "<s>"}});
        let t = Llama3Template::from_config(&good.to_string(), Path::new("c.json")).unwrap();
        assert_eq!(t.bos_token, "<s>");
        let other = serde_json::json!({"chat_template": "{{ messages }}", "bos_token": "<s>"});
        let err = Llama3Template::from_config(&other.to_string(), Path::new("c.json")).unwrap_err();
        assert!(
            err.to_string()
                .contains("field `chat_template`: unsupported"),
            "{err}"
        );
        let no_bos = serde_json::json!({"chat_template": LLAMA3_CHAT_TEMPLATE});
        let err =
            Llama3Template::from_config(&no_bos.to_string(), Path::new("c.json")).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("bos_token"));
        assert!(Llama3Template::from_config("{", Path::new("c.json")).is_err());
    }
}
