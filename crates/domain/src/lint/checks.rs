//! Checks on one conversation: role order, empty content, and each assistant
//! turn as a JSON object valid against the suite schema with a known intent,
//! plus the gate's own domain checks ([`okla_harness::score::Checks`]: PII echo,
//! forbidden legal phrases, prices grounded in what came before), so lint flags
//! in the reference answers exactly what the gate would flag in a model's.

use std::collections::HashSet;

use serde_json::Value;

use super::finding::{LineSink, Severity};
use super::Rules;
use okla_text::{Conversation, Role};

/// Run every per-conversation check, reporting into `sink`.
pub fn check_conversation(conversation: &Conversation, rules: &Rules, sink: &mut LineSink<'_>) {
    check_roles(conversation, sink);
    let mut said = HashSet::new();
    for (i, m) in conversation.messages.iter().enumerate() {
        let field = || Some(format!("messages[{i}].content"));
        if m.content.trim().is_empty() {
            sink.push(
                Severity::Error,
                field(),
                format!("empty {} content", m.role.as_str()),
            );
            continue;
        }
        match m.role {
            Role::User if !said.insert(m.content.as_str()) => {
                sink.push(
                    Severity::Warning,
                    field(),
                    "the same user turn repeats inside this conversation",
                );
            }
            Role::Assistant => {
                let context: Vec<&str> = conversation.messages[..i]
                    .iter()
                    .map(|m| m.content.as_str())
                    .collect();
                check_answer(&m.content, i, rules, &context, sink);
            }
            _ => {}
        }
    }
}

fn check_roles(conversation: &Conversation, sink: &mut LineSink<'_>) {
    let mut expected = Role::User;
    for (i, m) in conversation.messages.iter().enumerate() {
        let field = Some(format!("messages[{i}].role"));
        if m.role == Role::System {
            if i > 0 {
                sink.push(
                    Severity::Error,
                    field,
                    "a system message may only come first",
                );
                return;
            }
            continue;
        }
        if m.role != expected {
            sink.push(
                Severity::Error,
                field,
                format!("expected {} (after the optional system prompt, user and assistant turns alternate starting with user), got {}", expected.as_str(), m.role.as_str()),
            );
            return;
        }
        expected = if expected == Role::User {
            Role::Assistant
        } else {
            Role::User
        };
    }
    let last = conversation.messages.len() - 1;
    if conversation.messages[last].role != Role::Assistant {
        sink.push(
            Severity::Error,
            Some(format!("messages[{last}].role")),
            "the conversation does not end with an assistant turn",
        );
    }
}

fn check_answer(
    content: &str,
    index: usize,
    rules: &Rules,
    context: &[&str],
    sink: &mut LineSink<'_>,
) {
    let at = |sub: &str| Some(format!("messages[{index}].content{sub}"));
    let answer: Value = match serde_json::from_str(content) {
        Ok(v) => v,
        Err(e) => {
            sink.push(
                Severity::Error,
                at(""),
                format!("assistant content is not valid JSON: {e}"),
            );
            return;
        }
    };
    let Some(object) = answer.as_object() else {
        sink.push(
            Severity::Error,
            at(""),
            "assistant content is not a JSON object",
        );
        return;
    };
    let intent_pointer = rules.intent_field.as_ref().map(|f| format!("/{f}"));
    if let (Some(field), Some(known)) = (&rules.intent_field, &rules.intents) {
        if let Some(Value::String(label)) = object.get(field) {
            if !known.contains(label) {
                sink.push(
                    Severity::Error,
                    at(&format!("/{field}")),
                    format!("unknown intent {label:?}"),
                );
            }
        }
    }
    for error in rules.validator.iter_errors(&answer) {
        let path = error.instance_path().as_str();
        let is_intent_enum = rules.intents.is_some()
            && intent_pointer.as_deref() == Some(path)
            && object.get(&path[1..]).is_some_and(Value::is_string);
        if !is_intent_enum {
            sink.push(Severity::Error, at(path), format!("schema: {error}"));
        }
    }
    let response = at(&format!("/{}", rules.checks_config.response_field));
    let results = rules.checks.run(content, Some(object), context);
    if results.non_empty_response == Some(false)
        && object.contains_key(&rules.checks_config.response_field)
    {
        sink.push(
            Severity::Error,
            response.clone(),
            "empty or missing response text",
        );
    }
    if results.pii_safe == Some(false) {
        sink.push(
            Severity::Error,
            at(""),
            "the answer contains a cédula or card number: the bot must never echo personal data (Ley 172-13)",
        );
    }
    if results.legal_compliance == Some(false) {
        let lower = content.to_lowercase();
        let phrase = rules
            .checks_config
            .forbidden_phrases
            .iter()
            .find(|p| lower.contains(&p.to_lowercase()))
            .map_or_else(String::new, |p| format!(" {p:?}"));
        sink.push(
            Severity::Warning,
            at(""),
            format!("the answer uses the forbidden phrase{phrase} (Ley 358-05 / Código Civil: no final prices, no binding promises)"),
        );
    }
    if results.anti_hallucination == Some(false) {
        sink.push(
            Severity::Warning,
            response,
            "the response quotes a price found nowhere before it (system prompt or earlier turns)",
        );
    }
}
