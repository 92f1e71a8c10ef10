//! `okla-eval data synth`: a deterministic generator of OKLA conversations in the
//! FASE 2 format, split 80/10/10 with no user turn shared between splits.
//!
//! Optional *copy drills* ([`SplitSizes::with_copy_drills`], [`drill`]) are
//! appended to the train split only: a context whose prices are drawn uniformly
//! instead of from the catalogue, an answer that repeats its listing verbatim, then
//! price-quoting exchanges, so the prices a model must write can only be copied
//! from the context, never recalled. In DealerInventory drills every exchange
//! names another vehicle than the last, so each `vehicleId` must be copied from
//! the row of the vehicle the answer quotes, never from the previous answer. A tiny model trained on the natural
//! conversations alone learns the answer format and invents plausible prices.
//!
//! Everything is drawn from our own SplitMix64 ([`okla_formats::rng::SplitMix64`]) seeded per
//! conversation, so the same seed and count give byte-identical files on every
//! machine and with every dependency version.

mod answer;
mod catalog;
mod drill;
mod money;
mod plan;
mod prompt;
mod scene;
mod turns;

pub use catalog::{Dealer, Model, DEALERS, MODELS};

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{bail, Result};
use okla_formats::progress::Progress;

use self::answer::LeadSignals;
use self::catalog::Inventory;
use self::scene::Scene;
use crate::intent::Mode;
use okla_formats::atomic::write_atomic_with;
use okla_formats::rng::SplitMix64 as Rng;
use okla_text::{Conversation, Message, Role};

/// The three splits, in the order they are generated (test first, so the
/// held-out sets keep the natural distribution and train is the one re-drawn).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// `okla_test.jsonl`: the gate's cases (10%).
    Test,
    /// `okla_eval.jsonl`: teacher-forced loss (10%).
    Eval,
    /// `okla_train.jsonl`: training data (the rest).
    Train,
}

impl Split {
    /// All splits in generation order.
    pub const ALL: [Split; 3] = [Split::Test, Split::Eval, Split::Train];

    /// The file the split is written to.
    pub fn file_name(self) -> &'static str {
        match self {
            Split::Test => "okla_test.jsonl",
            Split::Eval => "okla_eval.jsonl",
            Split::Train => "okla_train.jsonl",
        }
    }
}

/// How many conversations each split gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitSizes {
    /// Test and eval conversations each.
    pub held_out: usize,
    /// Train conversations.
    pub train: usize,
    /// Copy drills appended to the train split (see the module docs).
    pub copy_drills: usize,
}

impl SplitSizes {
    /// 10% test, 10% eval, the rest train of `count`; `train` (when set) replaces
    /// the train size only, so the held-out splits stay those of `count`.
    pub fn new(count: usize, train: Option<usize>) -> Self {
        let held_out = count / 10;
        Self {
            held_out,
            train: train.unwrap_or(count - 2 * held_out),
            copy_drills: 0,
        }
    }

    /// The same sizes with `n` copy drills appended to the train split.
    pub fn with_copy_drills(self, n: usize) -> Self {
        Self {
            copy_drills: n,
            ..self
        }
    }

    /// The size of `split`.
    pub fn of(self, split: Split) -> usize {
        match split {
            Split::Test | Split::Eval => self.held_out,
            Split::Train => self.train,
        }
    }

    /// Conversations over the three splits, copy drills included.
    pub fn total(self) -> usize {
        2 * self.held_out + self.train + self.copy_drills
    }
}

/// How many times a conversation is re-drawn before giving up on making it unique.
const MAX_ATTEMPTS: u64 = 1_000;

/// Generated conversations per split.
#[derive(Debug, Clone, Default)]
pub struct Splits {
    /// Test split.
    pub test: Vec<Conversation>,
    /// Eval split.
    pub eval: Vec<Conversation>,
    /// Train split.
    pub train: Vec<Conversation>,
}

impl Splits {
    /// The conversations of `split`.
    pub fn get(&self, split: Split) -> &[Conversation] {
        match split {
            Split::Test => &self.test,
            Split::Eval => &self.eval,
            Split::Train => &self.train,
        }
    }

    fn get_mut(&mut self, split: Split) -> &mut Vec<Conversation> {
        match split {
            Split::Test => &mut self.test,
            Split::Eval => &mut self.eval,
            Split::Train => &mut self.train,
        }
    }
}

/// Generate the splits of `sizes` from `seed` (test and eval conversations depend
/// only on the seed and their index, so a larger train split leaves them unchanged). Each user line that repeats one
/// of its own conversation or already belongs to another split is re-drawn (up
/// to [`TURN_ATTEMPTS`] times, then the whole conversation is re-drawn from the
/// next attempt's stream); `progress` counts accepted conversations.
pub fn generate(seed: u64, sizes: SplitSizes, progress: &dyn Progress) -> Result<Splits> {
    progress.start(sizes.total() as u64, "conversations");
    let splits = generate_counted(seed, sizes, progress);
    progress.finish();
    splits
}

fn generate_counted(seed: u64, sizes: SplitSizes, progress: &dyn Progress) -> Result<Splits> {
    let mut splits = Splits::default();
    let mut owner: HashMap<String, Split> = HashMap::new();
    let parts = Split::ALL
        .into_iter()
        .map(|split| (split, Kind::Natural, sizes.of(split)))
        .chain([(Split::Train, Kind::CopyDrill, sizes.copy_drills)]);
    for (tag, (split, kind, count)) in parts.enumerate() {
        let free = |text: &str| owner.get(text).is_none_or(|&s| s == split);
        let mut accepted = Vec::with_capacity(count);
        for index in 0..count {
            let conversation = (0..MAX_ATTEMPTS).find_map(|attempt| {
                let mut rng = Rng::derive(seed, &[tag as u64, index as u64, attempt]);
                conversation(&mut rng, kind, &free)
            });
            let Some(conversation) = conversation else {
                bail!(
                    "could not draw {} conversation #{index} with user turns unique across splits in {MAX_ATTEMPTS} attempts (seed {seed}, {sizes:?})",
                    split.file_name()
                );
            };
            accepted.push(conversation);
            progress.advance(1);
        }
        for conversation in &accepted {
            for text in user_turns(conversation) {
                owner.entry(text.to_string()).or_insert(split);
            }
        }
        splits.get_mut(split).extend(accepted);
    }
    Ok(splits)
}

/// Write the three split files into `dir` atomically, one JSON object per line.
pub fn write(splits: &Splits, dir: &Path) -> Result<()> {
    for split in Split::ALL {
        write_atomic_with(&dir.join(split.file_name()), |w| {
            for conversation in splits.get(split) {
                serde_json::to_writer(&mut *w, conversation)?;
                w.write_all(b"\n")?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

fn user_turns(conversation: &Conversation) -> impl Iterator<Item = &str> {
    conversation
        .messages
        .iter()
        .filter(|m| m.role == Role::User)
        .map(|m| m.content.as_str())
}

/// How many times one user line is re-drawn before the conversation is given up.
const TURN_ATTEMPTS: usize = 200;

/// What a generated conversation is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A natural FASE 2 conversation.
    Natural,
    /// A copy drill (train only; see the module docs).
    CopyDrill,
}

/// One conversation drawn from `rng`: mode, context, system prompt, then the
/// planned exchanges, each user line accepted only when `free` and not already
/// said in this conversation. `None` when a line could not be made unique.
fn conversation(rng: &mut Rng, kind: Kind, free: &dyn Fn(&str) -> bool) -> Option<Conversation> {
    let mode = if rng.percent(50) {
        Mode::SingleVehicle
    } else {
        Mode::DealerInventory
    };
    let size = match mode {
        Mode::SingleVehicle => 1,
        Mode::DealerInventory => rng.range(8, 14) as usize,
    };
    let mut inventory = Inventory::draw(rng, size);
    if kind == Kind::CopyDrill {
        drill::reprice(rng, &mut inventory);
    }
    let system = match mode {
        Mode::SingleVehicle => prompt::single_vehicle(&inventory.dealer, &inventory.vehicles[0]),
        Mode::DealerInventory => prompt::dealer_inventory(&inventory),
    };
    let mut scene = Scene {
        mode,
        inventory,
        focus: None,
        signals: LeadSignals::default(),
        switch_targets: kind == Kind::CopyDrill && mode == Mode::DealerInventory,
    };
    let intents = match kind {
        Kind::Natural => {
            let turn_count = plan::turn_count(rng);
            plan::intents(rng, mode, turn_count)
        }
        Kind::CopyDrill => drill::intents(rng, mode),
    };
    let mut messages = vec![Message::new(Role::System, system)];
    if kind == Kind::CopyDrill {
        let (user, answer) = drill::listing_exchange(rng, mode, &messages[0].content);
        messages.push(Message::new(Role::User, user));
        messages.push(Message::new(
            Role::Assistant,
            answer.to_content(scene.signals),
        ));
    }
    let mut said: HashSet<String> = HashSet::new();
    for intent in intents {
        let (next, user, answer) = (0..TURN_ATTEMPTS).find_map(|_| {
            let mut trial = scene.clone();
            let (user, answer) = turns::exchange(&mut trial, intent, rng);
            (free(&user) && !said.contains(&user)).then_some((trial, user, answer))
        })?;
        scene = next;
        said.insert(user.clone());
        messages.push(Message::new(Role::User, user));
        messages.push(Message::new(
            Role::Assistant,
            answer.to_content(scene.signals),
        ));
    }
    Some(Conversation { messages, line: 0 })
}

/// `data synth`'s summary of splits written to `out`: a line per split file, then
/// the seed and sizes.
pub fn render_summary(splits: &Splits, seed: u64, sizes: SplitSizes, out: &Path) -> String {
    let mut text = String::new();
    for split in Split::ALL {
        let conversations = splits.get(split);
        let turns: usize = conversations
            .iter()
            .map(|c| c.assistant_turns().count())
            .sum();
        text.push_str(&format!(
            "{:<18} {:>6} conversations {:>7} assistant turns\n",
            out.join(split.file_name()).display(),
            conversations.len(),
            turns
        ));
    }
    text.push_str(&format!(
        "seed {seed}, {} held-out conversations per split, {} train (of which {} copy drills)\n",
        sizes.held_out,
        sizes.train + sizes.copy_drills,
        sizes.copy_drills
    ));
    text
}
