//! Checks on one conversation: role order, empty content, and each assistant
//! turn as a JSON object valid against the suite schema with a known intent,
//! plus the gate's own domain checks ([`okla_harness::score::Checks`]: PII echo,
//! forbidden legal phrases, and the grounded checks the suite declares: vehicles and
//! prices from the context, mode boundaries, refusals, disclaimers, language), so lint
//! flags in the reference answers exactly what the gate would flag in a model's.

use std::collections::HashSet;

use serde_json::Value;

use super::finding::{LineSink, Severity};
use super::Rules;
use okla_harness::score::Turn;
use okla_harness::suite::detect_mode;
use okla_text::{Conversation, Message, Role};

/// Run every per-conversation check, reporting into `sink`.
pub fn check_conversation(conversation: &Conversation, rules: &Rules, sink: &mut LineSink<'_>) {
    check_roles(conversation, sink);
    let mode = detect_mode(conversation, &rules.modes);
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
                let prompt = &conversation.messages[..i];
                check_answer(&m.content, i, rules, prompt, mode.as_deref(), sink);
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
    prompt: &[Message],
    mode: Option<&str>,
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
    let response_field = rules.checks.response_field();
    let response = at(&format!("/{response_field}"));
    let own_intent = rules
        .intent_field
        .as_ref()
        .and_then(|f| object.get(f))
        .and_then(Value::as_str);
    let outcome = rules.checks.run(&Turn {
        output: content,
        object: Some(object),
        prompt,
        mode,
        expected_intent: own_intent,
    });
    for (name, verdict) in outcome.checks.failures() {
        let reason = verdict.reason.as_deref().unwrap_or("failed");
        match name {
            "non_empty_response" if object.contains_key(response_field) => sink.push(
                Severity::Error,
                response.clone(),
                "empty or missing response text",
            ),
            "non_empty_response" => {}
            "pii_safe" => sink.push(
                Severity::Error,
                at(""),
                format!("the answer {reason}: the bot must never echo personal data"),
            ),
            _ => sink.push(
                Severity::Warning,
                response.clone(),
                format!("{name}: {reason}"),
            ),
        }
    }
}
