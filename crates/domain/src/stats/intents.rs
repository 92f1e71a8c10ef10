//! The intent distribution: the `intent` field of each assistant turn's JSON, with
//! the intents too rare to learn from flagged, labels outside the 24 OKLA intents
//! marked unknown, and the OKLA intents that never occur listed as missing.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::intent::Intent;

/// An intent is flagged rare when its count is under this fraction of the mean count.
pub const RARE_FRACTION: f64 = 0.3;

/// How often each intent appears among assistant turns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntentStats {
    /// Each intent with its count, most frequent first (ties by name).
    pub counts: Vec<IntentCount>,
    /// Mean count over the intents seen.
    pub mean: f64,
    /// Assistant turns whose content is not a JSON object with a string `intent`.
    pub without_intent: usize,
    /// OKLA intents that no assistant turn carries.
    pub missing: Vec<String>,
}

/// One intent's count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntentCount {
    /// The intent name.
    pub intent: String,
    /// Assistant turns with this intent.
    pub count: usize,
    /// True when `count` is under [`RARE_FRACTION`] of the mean count.
    pub rare: bool,
    /// True when the label is one of the 24 OKLA intents.
    pub known: bool,
}

/// The `intent` of an assistant turn, if its content is a JSON object with a string one.
pub fn intent_of(assistant_content: &str) -> Option<String> {
    match serde_json::from_str::<Value>(assistant_content)
        .ok()?
        .get("intent")?
    {
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

impl IntentStats {
    /// Tally the intents of assistant turns (`None`: no intent found).
    pub fn tally(intents: impl IntoIterator<Item = Option<String>>) -> Self {
        let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
        let mut without_intent = 0;
        for intent in intents {
            match intent {
                Some(name) => *by_name.entry(name).or_default() += 1,
                None => without_intent += 1,
            }
        }
        let total: usize = by_name.values().sum();
        let mean = if by_name.is_empty() {
            0.0
        } else {
            total as f64 / by_name.len() as f64
        };
        let mut counts: Vec<IntentCount> = by_name
            .into_iter()
            .map(|(intent, count)| IntentCount {
                known: Intent::parse(&intent).is_some(),
                intent,
                count,
                rare: (count as f64) < RARE_FRACTION * mean,
            })
            .collect();
        let missing = Intent::ALL
            .iter()
            .map(|i| i.name())
            .filter(|name| !counts.iter().any(|c| c.intent == *name))
            .map(str::to_string)
            .collect();
        counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.intent.cmp(&b.intent)));
        Self {
            counts,
            mean,
            without_intent,
            missing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_intent_from_assistant_json_only() {
        assert_eq!(
            intent_of(r#"{"intent":"Greeting","x":1}"#).as_deref(),
            Some("Greeting")
        );
        assert_eq!(intent_of(r#"{"intent":3}"#), None);
        assert_eq!(intent_of("hola"), None);
        assert_eq!(intent_of(r#"["intent"]"#), None);
    }

    #[test]
    fn flags_intents_under_30_percent_of_the_mean() {
        let mut turns = vec![Some("Greeting".to_string()); 10];
        turns.extend(vec![Some("Bogus".to_string()); 10]);
        turns.push(Some("Farewell".to_string()));
        turns.push(None);
        let s = IntentStats::tally(turns);
        assert_eq!(s.mean, 7.0);
        assert_eq!(s.without_intent, 1);
        let shown: Vec<(&str, usize, bool, bool)> = s
            .counts
            .iter()
            .map(|c| (c.intent.as_str(), c.count, c.rare, c.known))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("Bogus", 10, false, false),
                ("Greeting", 10, false, true),
                ("Farewell", 1, true, true)
            ]
        );
        assert_eq!(s.missing.len(), 22);
        assert!(!s.missing.iter().any(|m| m == "Greeting" || m == "Farewell"));
    }
}
