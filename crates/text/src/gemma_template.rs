//! The Gemma 3 chat template, implemented in Rust with the exact semantics of the Jinja
//! template Google ships with the Gemma 3 instruction-tuned models
//! ([`GEMMA3_CHAT_TEMPLATE`], byte for byte, as `tokenizer_config.json` holds it), for
//! messages whose content is a string:
//!
//! - `<bos>` first;
//! - a leading system message is not a turn: its content (untrimmed) and `"\n\n"` open
//!   the first user turn;
//! - every turn is `<start_of_turn>` + role (`assistant` written `model`) + `"\n"` +
//!   content trimmed by Jinja's `trim` + `<end_of_turn>\n`;
//! - after the system message, roles must alternate user / assistant, starting with
//!   the user (the template raises an exception otherwise; here it is an error);
//! - the generation prompt `<start_of_turn>model\n` closes the text when asked for.
//!   [`Gemma3Template::render`] asks for it exactly when the conversation awaits a
//!   reply (its last message is not the assistant's): a gate prompt gets it, a training
//!   conversation (ending with the answer) does not, as each is rendered with
//!   Hugging Face's `apply_chat_template`.

use anyhow::{bail, Result};

use crate::chat::{Message, Role};
use crate::template::{jinja_trim, RenderedChat};

/// The `chat_template` string this module implements, byte for byte.
pub const GEMMA3_CHAT_TEMPLATE: &str = "{{ bos_token }}\n{%- if messages[0]['role'] == 'system' -%}\n    {%- if messages[0]['content'] is string -%}\n        {%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}\n    {%- else -%}\n        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\\n\\n' -%}\n    {%- endif -%}\n    {%- set loop_messages = messages[1:] -%}\n{%- else -%}\n    {%- set first_user_prefix = \"\" -%}\n    {%- set loop_messages = messages -%}\n{%- endif -%}\n{%- for message in loop_messages -%}\n    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}\n        {{ raise_exception(\"Conversation roles must alternate user/assistant/user/assistant/...\") }}\n    {%- endif -%}\n    {%- if (message['role'] == 'assistant') -%}\n        {%- set role = \"model\" -%}\n    {%- else -%}\n        {%- set role = message['role'] -%}\n    {%- endif -%}\n    {{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else \"\") }}\n    {%- if message['content'] is string -%}\n        {{ message['content'] | trim }}\n    {%- elif message['content'] is iterable -%}\n        {%- for item in message['content'] -%}\n            {%- if item['type'] == 'image' -%}\n                {{ '<start_of_image>' }}\n            {%- elif item['type'] == 'text' -%}\n                {{ item['text'] | trim }}\n            {%- endif -%}\n        {%- endfor -%}\n    {%- else -%}\n        {{ raise_exception(\"Invalid content type\") }}\n    {%- endif -%}\n    {{ '<end_of_turn>\\n' }}\n{%- endfor -%}\n{%- if add_generation_prompt -%}\n    {{'<start_of_turn>model\\n'}}\n{%- endif -%}\n";

/// The special token that opens a turn.
pub const START_OF_TURN: &str = "<start_of_turn>";
/// The special token that ends every turn; generation stops at it.
pub const END_OF_TURN: &str = "<end_of_turn>";
/// Gemma's beginning-of-sequence token.
pub const GEMMA_BOS: &str = "<bos>";

/// The Gemma 3 chat template.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gemma3Template;

impl Gemma3Template {
    /// Renders `messages` as `apply_chat_template` does with this template, the
    /// generation prompt added when the last message is not the assistant's. Roles out
    /// of the template's order are an error naming the message.
    pub fn render(&self, messages: &[Message]) -> Result<RenderedChat> {
        let (prefix, turns) = match messages.split_first() {
            Some((first, rest)) if first.role == Role::System => (first.content.as_str(), rest),
            _ => ("", messages),
        };
        let capacity = messages.iter().map(|m| m.content.len() + 32).sum::<usize>() + 32;
        let mut text = String::with_capacity(capacity);
        let mut assistant_spans = Vec::new();
        text.push_str(GEMMA_BOS);
        for (index, message) in turns.iter().enumerate() {
            let expected = if index % 2 == 0 {
                Role::User
            } else {
                Role::Assistant
            };
            if message.role != expected {
                bail!(
                    "message {} is from the {}, but the Gemma 3 chat template needs roles to \
                     alternate user/assistant after an optional first system message",
                    index + messages.len() - turns.len() + 1,
                    message.role.as_str()
                );
            }
            text.push_str(START_OF_TURN);
            text.push_str(match message.role {
                Role::Assistant => "model",
                other => other.as_str(),
            });
            text.push('\n');
            if index == 0 && !prefix.is_empty() {
                text.push_str(prefix);
                text.push_str("\n\n");
            }
            let start = text.len();
            text.push_str(jinja_trim(&message.content));
            text.push_str(END_OF_TURN);
            if message.role == Role::Assistant {
                assistant_spans.push(start..text.len());
            }
            text.push('\n');
        }
        if turns.last().is_none_or(|m| m.role != Role::Assistant) {
            text.push_str(START_OF_TURN);
            text.push_str("model\n");
        }
        Ok(RenderedChat {
            text,
            assistant_spans,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_prefixes_the_first_user_turn_and_the_prompt_awaits_the_model() {
        let messages = [
            Message::new(Role::System, "Eres OKLA. "),
            Message::new(Role::User, "  klk\n"),
            Message::new(Role::Assistant, " {\"a\":1}\u{a0}"),
            Message::new(Role::User, "y el precio?"),
        ];
        let r = Gemma3Template.render(&messages).unwrap();
        assert_eq!(
            r.text,
            "<bos><start_of_turn>user\nEres OKLA. \n\nklk<end_of_turn>\n\
             <start_of_turn>model\n{\"a\":1}<end_of_turn>\n\
             <start_of_turn>user\ny el precio?<end_of_turn>\n<start_of_turn>model\n"
        );
        assert_eq!(r.assistant_spans.len(), 1);
        assert_eq!(
            &r.text[r.assistant_spans[0].clone()],
            "{\"a\":1}<end_of_turn>"
        );
    }

    #[test]
    fn a_conversation_ending_with_the_answer_gets_no_generation_prompt() {
        let messages = [
            Message::new(Role::User, "hola"),
            Message::new(Role::Assistant, "{}"),
        ];
        let r = Gemma3Template.render(&messages).unwrap();
        assert_eq!(
            r.text,
            "<bos><start_of_turn>user\nhola<end_of_turn>\n<start_of_turn>model\n{}<end_of_turn>\n"
        );
        assert_eq!(
            Gemma3Template.render(&[]).unwrap().text,
            "<bos><start_of_turn>model\n"
        );
    }

    #[test]
    fn roles_out_of_order_are_refused_with_the_message_number() {
        let two_users = [
            Message::new(Role::System, "s"),
            Message::new(Role::User, "a"),
            Message::new(Role::User, "b"),
        ];
        let err = Gemma3Template.render(&two_users).unwrap_err().to_string();
        assert!(err.contains("message 3 is from the user"), "{err}");
        let late_system = [
            Message::new(Role::User, "a"),
            Message::new(Role::System, "b"),
        ];
        assert!(Gemma3Template.render(&late_system).is_err());
    }
}
