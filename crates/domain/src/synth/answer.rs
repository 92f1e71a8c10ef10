//! The assistant's JSON answer, serialized with every FASE 2 field in a fixed order.

use serde_json::{Map, Value};

use crate::intent::Intent;

/// Purchase signals, accumulated over a conversation (the keys docs/domain.md documents).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeadSignals {
    /// The user named a budget or a price they would pay.
    pub mentioned_budget: bool,
    /// The user asked for a test drive or visit.
    pub requested_test_drive: bool,
    /// The user asked about financing.
    pub asked_financing: bool,
    /// The user left a way to contact them.
    pub provided_contact_info: bool,
}

/// One assistant turn before serialization.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Text for the user.
    pub response: String,
    /// Detected intent.
    pub intent: Intent,
    /// Confidence in hundredths (0..=100), so serialization is exact.
    pub confidence: u32,
    /// True when the bot did not understand.
    pub is_fallback: bool,
    /// Extracted entities.
    pub parameters: Map<String, Value>,
    /// What the interface should do next.
    pub suggested_action: Option<&'static str>,
    /// Buttons offered.
    pub quick_replies: Vec<&'static str>,
}

impl Answer {
    /// A plain answer with no parameters, action or quick replies yet.
    pub fn new(intent: Intent, response: String, confidence: u32) -> Self {
        Self {
            response,
            intent,
            confidence,
            is_fallback: false,
            parameters: Map::new(),
            suggested_action: None,
            quick_replies: Vec::new(),
        }
    }

    /// Add a parameter (kept in insertion order).
    pub fn param(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.parameters.insert(key.to_string(), value.into());
        self
    }

    /// Set the suggested action.
    pub fn action(mut self, action: &'static str) -> Self {
        self.suggested_action = Some(action);
        self
    }

    /// Set the quick replies.
    pub fn replies(mut self, replies: &[&'static str]) -> Self {
        self.quick_replies = replies.to_vec();
        self
    }

    /// The assistant message content: the JSON object as a compact string.
    pub fn to_content(&self, signals: LeadSignals) -> String {
        let mut obj = Map::new();
        obj.insert("response".into(), Value::from(self.response.as_str()));
        obj.insert("intent".into(), Value::from(self.intent.name()));
        obj.insert(
            "confidence".into(),
            Value::from(f64::from(self.confidence) / 100.0),
        );
        obj.insert("isFallback".into(), Value::from(self.is_fallback));
        obj.insert("parameters".into(), Value::Object(self.parameters.clone()));
        let mut lead = Map::new();
        lead.insert("mentionedBudget".into(), signals.mentioned_budget.into());
        lead.insert(
            "requestedTestDrive".into(),
            signals.requested_test_drive.into(),
        );
        lead.insert("askedFinancing".into(), signals.asked_financing.into());
        lead.insert(
            "providedContactInfo".into(),
            signals.provided_contact_info.into(),
        );
        obj.insert("leadSignals".into(), Value::Object(lead));
        obj.insert(
            "suggestedAction".into(),
            self.suggested_action.map_or(Value::Null, Value::from),
        );
        obj.insert(
            "quickReplies".into(),
            Value::from(
                self.quick_replies
                    .iter()
                    .map(|s| Value::from(*s))
                    .collect::<Vec<_>>(),
            ),
        );
        Value::Object(obj).to_string()
    }
}
