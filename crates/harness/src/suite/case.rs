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

/// The separator between a case id and its draw number in repeated runs (`okla_test:12:0#3`).
pub const DRAW_SEPARATOR: char = '#';

/// The id of the `draw`-th answer (1-based) to case `id` in a run that answers every case
/// several times (`--repeats`): `<id>#<draw>`. Its own id, so every draw is journaled,
/// resumed, replayed and sampled (the engine's random stream follows the id) on its own.
pub fn draw_id(id: &str, draw: u32) -> String {
    format!("{id}{DRAW_SEPARATOR}{draw}")
}

/// The case id and draw number of an answer's id (`None` for a run without repeats).
pub fn split_draw(id: &str) -> (&str, Option<u32>) {
    match id.rsplit_once(DRAW_SEPARATOR) {
        Some((case, draw)) => match draw.parse() {
            Ok(draw) => (case, Some(draw)),
            Err(_) => (id, None),
        },
        None => (id, None),
    }
}

/// The conversation an answer belongs to (`<file stem>:<line>`): its turns and draws are
/// not independent of each other, so intervals treat a conversation as one cluster.
pub fn conversation_of(id: &str) -> &str {
    let case = split_draw(id).0;
    case.rsplit_once(':')
        .map_or(case, |(conversation, _)| conversation)
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

    #[test]
    fn draw_ids_split_back_and_share_their_conversation() {
        let id = draw_id("okla_test:12:1", 3);
        assert_eq!(id, "okla_test:12:1#3");
        assert_eq!(split_draw(&id), ("okla_test:12:1", Some(3)));
        assert_eq!(split_draw("okla_test:12:1"), ("okla_test:12:1", None));
        assert_eq!(conversation_of(&id), "okla_test:12");
        assert_eq!(conversation_of("okla_test:12:0"), "okla_test:12");
    }
}
