//! Checks on one conversation: role order, empty content, and each assistant
//! turn as a JSON object valid against the suite schema with a known intent,
//! plus the response-text rules of [`super::text_checks`].

use std::collections::HashSet;

use serde_json::Value;

use super::finding::{LineSink, Severity};
use super::text_checks::{forbidden_phrase, personal_number, rd_amounts};
use super::Rules;
use crate::suite::{Conversation, Role};

/// Run every per-conversation check, reporting into `sink`.
pub fn check_conversation(conversation: &Conversation, rules: &Rules, sink: &mut LineSink<'_>) {
    check_roles(conversation, sink);
    let context_amounts: HashSet<String> = conversation
        .system_prompt()
        .map(|s| rd_amounts(s).into_iter().collect())
        .unwrap_or_default();
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
            Role::Assistant => check_answer(&m.content, i, rules, &context_amounts, sink),
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
    context_amounts: &HashSet<String>,
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
    if !answer.is_object() {
        sink.push(
            Severity::Error,
            at(""),
            "assistant content is not a JSON object",
        );
        return;
    }
    let intent_pointer = rules.intent_field.as_ref().map(|f| format!("/{f}"));
    if let (Some(field), Some(known)) = (&rules.intent_field, &rules.intents) {
        if let Some(Value::String(label)) = answer.get(field) {
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
            && answer.get(&path[1..]).is_some_and(Value::is_string);
        if !is_intent_enum {
            sink.push(Severity::Error, at(path), format!("schema: {error}"));
        }
    }
    let Some(response) = answer.get("response").and_then(Value::as_str) else {
        return;
    };
    if response.trim().is_empty() {
        sink.push(Severity::Error, at("/response"), "empty response text");
    }
    if let Some(number) = personal_number(response) {
        sink.push(Severity::Error, at("/response"), format!("the response contains a cédula or card number ({number}); the bot must never echo personal data (Ley 172-13)"));
    }
    if let Some(phrase) = forbidden_phrase(response) {
        sink.push(Severity::Warning, at("/response"), format!("the response says {phrase:?} (Ley 358-05 / Código Civil: no final prices or binding promises)"));
    }
    if !context_amounts.is_empty() {
        for amount in rd_amounts(response) {
            if !context_amounts.contains(&amount) {
                sink.push(
                    Severity::Warning,
                    at("/response"),
                    format!("the response quotes an amount of {amount} DOP that the system prompt does not hold"),
                );
            }
        }
    }
}
