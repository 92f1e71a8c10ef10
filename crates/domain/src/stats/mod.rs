//! `data stats`: what a chat dataset will do to training — conversations, turns, mode
//! mix, intent distribution, and token lengths under the Llama 3 chat template with
//! the `max_seq_len` they call for and how many conversations a given one truncates.

mod command;
mod intents;
mod lengths;
mod render;

use std::path::PathBuf;

use anyhow::Result;
use okla_formats::progress::Progress;
use rayon::prelude::*;
use serde::Serialize;

pub use command::{run, write_lengths_csv, StatsOptions, REAL_RUN_MAX_SEQ_LEN};
pub use intents::{intent_of, IntentCount, IntentStats, RARE_FRACTION};
pub use lengths::{truncation, LengthSummary, Truncation, SEQ_LEN_MULTIPLE};
pub use render::render_text;

use okla_formats::error::InputErrors;
use okla_harness::suite::{detect_mode, ModeMarker};
use okla_text::chat::load_jsonl;
use okla_text::ChatTokenizer;
use okla_text::{Conversation, Role};

/// The OKLA system-prompt markers that tell the two modes apart.
pub const OKLA_MODE_MARKERS: [(&str, &str); 2] = [
    ("VEHÍCULO EN CONTEXTO", "SingleVehicle"),
    ("INVENTARIO DISPONIBLE", "DealerInventory"),
];

/// One JSONL file of conversations.
#[derive(Debug, Clone)]
pub struct DatasetFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its conversations, in file order.
    pub conversations: Vec<Conversation>,
}

/// Everything `data stats` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataStats {
    /// Per input file: conversations and tokens.
    pub files: Vec<FileSummary>,
    /// Conversations in all files.
    pub conversations: usize,
    /// Message and turn counts.
    pub turns: TurnStats,
    /// Conversations per mode (by system-prompt marker), `(none)` last.
    pub modes: Vec<ModeCount>,
    /// The assistant intents.
    pub intents: IntentStats,
    /// Token lengths of whole conversations under the chat template (`None`: no data).
    pub tokens: Option<LengthSummary>,
    /// The P95 length rounded up to a multiple of [`SEQ_LEN_MULTIPLE`].
    pub recommended_max_seq_len: Option<usize>,
    /// Truncation at each requested `max_seq_len` and at the recommended one.
    pub truncation: Vec<Truncation>,
}

/// One input file's share.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileSummary {
    /// The path as given.
    pub path: String,
    /// Conversations in it.
    pub conversations: usize,
    /// Tokens of all its conversations under the chat template.
    pub tokens: u64,
}

/// Message and turn counts; a turn is one assistant answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TurnStats {
    /// All messages, system prompts included.
    pub messages: usize,
    /// User messages.
    pub user: usize,
    /// Assistant messages (turns).
    pub assistant: usize,
    /// Conversations by their number of assistant turns.
    pub per_conversation: TurnMix,
}

/// Conversations bucketed by how many assistant turns they hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TurnMix {
    /// No assistant turn.
    pub none: usize,
    /// Exactly one.
    pub one: usize,
    /// Two to four.
    pub two_to_four: usize,
    /// Five to eight.
    pub five_to_eight: usize,
    /// Nine or more.
    pub nine_or_more: usize,
}

/// Conversations in one mode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModeCount {
    /// The mode name, or `(none)` when no marker matched.
    pub mode: String,
    /// Conversations in it.
    pub conversations: usize,
}

/// Read every file, reporting every malformed line of every file (file:line:field).
pub fn load_files(paths: &[PathBuf]) -> Result<Vec<DatasetFile>, InputErrors> {
    let mut files = Vec::with_capacity(paths.len());
    let mut errors = Vec::new();
    for path in paths {
        match load_jsonl(path) {
            Ok(conversations) => files.push(DatasetFile {
                path: path.clone(),
                conversations,
            }),
            Err(e) => errors.extend(e.0),
        }
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(InputErrors(errors))
    }
}

/// Token length of every conversation of every file under the chat template, in
/// parallel; `progress` counts conversations.
pub fn token_lengths(
    files: &[DatasetFile],
    tokenizer: &ChatTokenizer,
    progress: &dyn Progress,
) -> Result<Vec<Vec<usize>>> {
    let all: Vec<&Conversation> = files.iter().flat_map(|f| &f.conversations).collect();
    progress.start(all.len() as u64, "tokenizing");
    let flat = all
        .par_iter()
        .map(|c| {
            let n = tokenizer.count_chat_tokens(&c.messages);
            progress.advance(1);
            n
        })
        .collect::<Result<Vec<usize>>>();
    progress.finish();
    let mut flat = flat?.into_iter();
    Ok(files
        .iter()
        .map(|f| flat.by_ref().take(f.conversations.len()).collect())
        .collect())
}

impl DataStats {
    /// Compute the statistics from the files and their per-conversation token lengths
    /// (as [`token_lengths`] returns them); truncation is reported at each of
    /// `max_seq_lens` and at the recommended length.
    pub fn compute(files: &[DatasetFile], lengths: &[Vec<usize>], max_seq_lens: &[usize]) -> Self {
        let conversations = || files.iter().flat_map(|f| &f.conversations);
        let all_lengths: Vec<usize> = lengths.iter().flatten().copied().collect();
        let tokens = LengthSummary::new(&all_lengths);
        let recommended_max_seq_len = tokens.as_ref().map(LengthSummary::recommended_max_seq_len);
        let mut limits = max_seq_lens.to_vec();
        limits.extend(recommended_max_seq_len);
        limits.sort_unstable();
        limits.dedup();
        Self {
            files: files
                .iter()
                .zip(lengths)
                .map(|(f, l)| FileSummary {
                    path: f.path.display().to_string(),
                    conversations: f.conversations.len(),
                    tokens: l.iter().map(|&n| n as u64).sum(),
                })
                .collect(),
            conversations: conversations().count(),
            turns: turn_stats(conversations()),
            modes: mode_counts(conversations()),
            intents: IntentStats::tally(conversations().flat_map(|c| {
                c.messages
                    .iter()
                    .filter(|m| m.role == Role::Assistant)
                    .map(|m| intent_of(&m.content))
            })),
            tokens,
            recommended_max_seq_len,
            truncation: limits
                .into_iter()
                .map(|l| truncation(&all_lengths, l))
                .collect(),
        }
    }
}

fn turn_stats<'a>(conversations: impl Iterator<Item = &'a Conversation>) -> TurnStats {
    let mut stats = TurnStats {
        messages: 0,
        user: 0,
        assistant: 0,
        per_conversation: TurnMix::default(),
    };
    for c in conversations {
        let count = |role| c.messages.iter().filter(|m| m.role == role).count();
        let answers = count(Role::Assistant);
        stats.messages += c.messages.len();
        stats.user += count(Role::User);
        stats.assistant += answers;
        let mix = &mut stats.per_conversation;
        *match answers {
            0 => &mut mix.none,
            1 => &mut mix.one,
            2..=4 => &mut mix.two_to_four,
            5..=8 => &mut mix.five_to_eight,
            _ => &mut mix.nine_or_more,
        } += 1;
    }
    stats
}

fn mode_counts<'a>(conversations: impl Iterator<Item = &'a Conversation>) -> Vec<ModeCount> {
    let markers: Vec<ModeMarker> = OKLA_MODE_MARKERS
        .iter()
        .map(|(marker, name)| ModeMarker {
            marker: marker.to_string(),
            name: name.to_string(),
        })
        .collect();
    let mut counts: Vec<ModeCount> = markers
        .iter()
        .map(|m| m.name.as_str())
        .chain(["(none)"])
        .map(|mode| ModeCount {
            mode: mode.to_string(),
            conversations: 0,
        })
        .collect();
    for c in conversations {
        let index = detect_mode(c, &markers)
            .and_then(|name| markers.iter().position(|m| m.name == name))
            .unwrap_or(markers.len());
        counts[index].conversations += 1;
    }
    counts
}
