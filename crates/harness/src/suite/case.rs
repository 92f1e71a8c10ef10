//! Cases: one scoring point per assistant turn, with the conversation before it as the prompt.

use serde::{Deserialize, Serialize};

use super::manifest::{ModeMarker, TurnSelection};
use okla_text::chat::{Conversation, Message};

/// One thing to score: the prompt (messages before an assistant turn) and the reference answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Stable id: `<file stem>:<line>:<assistant turn index>` (e.g. `okla_test:12:0`).
    pub id: String,
    /// The case file's stem.
    pub source: String,
    /// 1-based line of the conversation in its file.
    pub line: usize,
    /// 0-based index of this assistant turn among the conversation's assistant turns.
    pub turn: usize,
    /// The mode named by the first matching marker in the system prompt, if any.
    pub mode: Option<String>,
    /// The messages the model sees (system prompt and the real history).
    pub prompt: Vec<Message>,
    /// The reference assistant content (in OKLA data: a JSON object as a string).
    pub reference: String,
}

/// The id of the `turn`-th assistant turn of the conversation at `line` of `source`.
pub fn case_id(source: &str, line: usize, turn: usize) -> String {
    format!("{source}:{line}:{turn}")
}

/// The mode of a conversation: the first marker found in its system prompt.
pub fn detect_mode(conversation: &Conversation, modes: &[ModeMarker]) -> Option<String> {
    let system = conversation.system_prompt()?;
    modes
        .iter()
        .find(|m| system.contains(&m.marker))
        .map(|m| m.name.clone())
}

/// Expand conversations of one file into cases.
pub fn expand(
    source: &str,
    conversations: &[Conversation],
    modes: &[ModeMarker],
    turns: TurnSelection,
) -> Vec<Case> {
    let mut cases = Vec::new();
    for conversation in conversations {
        let mode = detect_mode(conversation, modes);
        for (turn, index) in conversation.assistant_turns().enumerate() {
            if turns == TurnSelection::First && turn > 0 {
                break;
            }
            cases.push(Case {
                id: case_id(source, conversation.line, turn),
                source: source.to_string(),
                line: conversation.line,
                turn,
                mode: mode.clone(),
                prompt: conversation.messages[..index].to_vec(),
                reference: conversation.messages[index].content.clone(),
            });
        }
    }
    cases
}

#[cfg(test)]
mod tests {
    use super::*;
    use okla_text::Role;

    fn conv() -> Conversation {
        Conversation {
            messages: vec![
                Message::new(Role::System, "INVENTARIO DISPONIBLE: ..."),
                Message::new(Role::User, "klk"),
                Message::new(Role::Assistant, "{\"a\":1}"),
                Message::new(Role::User, "tato"),
                Message::new(Role::Assistant, "{\"a\":2}"),
            ],
            line: 7,
        }
    }

    #[test]
    fn every_turn_gets_its_real_history() {
        let modes = vec![ModeMarker {
            marker: "INVENTARIO DISPONIBLE".into(),
            name: "DealerInventory".into(),
        }];
        let cases = expand("test", &[conv()], &modes, TurnSelection::All);
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].id, "test:7:0");
        assert_eq!(cases[0].prompt.len(), 2);
        assert_eq!(cases[1].id, "test:7:1");
        assert_eq!(cases[1].prompt.len(), 4);
        assert_eq!(cases[1].reference, "{\"a\":2}");
        assert_eq!(cases[1].mode.as_deref(), Some("DealerInventory"));
        let first = expand("test", &[conv()], &modes, TurnSelection::First);
        assert_eq!(first.len(), 1);
    }
}
