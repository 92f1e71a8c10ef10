//! What one case's context holds, read once per case: the listed vehicles (one in a
//! single-vehicle conversation, one per inventory line otherwise) with their ids and
//! prices, this conversation's dealer, the amounts and vehicles the user named, and
//! the vehicle the conversation was last about.

use std::collections::BTreeSet;

use regex::Regex;

use super::amount::{find_amounts, Amount, Scan};
use super::lexicon::{Lexicon, Mention};
use okla_text::chat::{Message, Role};

/// How a mode's context lists vehicles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeKind {
    /// One vehicle in context.
    Single,
    /// A dealer's inventory, one vehicle per line.
    Inventory,
}

/// One listed vehicle.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The first vehicle the listing names (its make and model).
    pub vehicle: Option<Mention>,
    /// The listing's model year.
    pub year: Option<u16>,
    /// Amounts in the listing (its price).
    pub prices: Vec<Amount>,
    /// Listing ids in it.
    pub ids: Vec<String>,
    /// How reports name it (`2024 Kia K5 GT-Line (v023)`: the listing's own words).
    pub label: String,
}

/// Everything the grounded checks need to know about one case's context.
#[derive(Debug, Clone, Default)]
pub struct CaseContext {
    /// How the mode lists vehicles (`None`: a mode the checks do not know).
    pub kind: Option<ModeKind>,
    /// The listed vehicles.
    pub records: Vec<Record>,
    /// Every listing id in the system prompt.
    pub ids: BTreeSet<String>,
    /// The system prompt's words, for ids the id pattern does not know.
    pub system_words: BTreeSet<String>,
    /// This conversation's dealer.
    pub dealer: Option<String>,
    /// Amounts the user stated anywhere in the conversation.
    pub user_amounts: Vec<Amount>,
    /// Vehicles the user named anywhere in the conversation.
    pub user_mentions: Vec<Mention>,
    /// Every amount before the answer (system prompt and history).
    pub context_amounts: Vec<Amount>,
    /// The records the conversation was last about (the single vehicle, or the last
    /// listed vehicle named in the history).
    pub subject: Vec<usize>,
}

impl CaseContext {
    /// True when `id` is a listing id of the context (found by the id pattern, or
    /// written as a word of the system prompt).
    pub fn holds_id(&self, id: &str) -> bool {
        self.ids.contains(id) || self.system_words.contains(id)
    }
}

/// Where a named vehicle stands against the records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// These records are the vehicle named.
    Listed(Vec<usize>),
    /// Records of that make and model exist, none of the year named.
    WrongYear(Vec<usize>),
    /// No record is that vehicle.
    Unlisted,
}

/// Every amount the user stated in `prompt` (budgets count: "tengo 1500000").
pub fn user_amounts(prompt: &[Message]) -> Vec<Amount> {
    prompt
        .iter()
        .filter(|m| m.role == Role::User)
        .flat_map(|m| find_amounts(&m.content, Scan::Stated))
        .collect()
}

/// The compiled reading rules of `[checks.context]`.
#[derive(Debug, Clone)]
pub struct ContextReader {
    /// The vehicle lexicon.
    pub lexicon: Lexicon,
    /// Mode name → (marker, kind).
    pub modes: Vec<(String, String, ModeKind)>,
    /// Listing ids.
    pub id_pattern: Regex,
    /// Captures of this conversation's dealer.
    pub dealer_patterns: Vec<Regex>,
}

impl ContextReader {
    /// Read the context of a case in `mode` whose prompt is `prompt`.
    pub fn read(&self, prompt: &[Message], mode: Option<&str>) -> CaseContext {
        let system = prompt
            .iter()
            .find(|m| m.role == Role::System)
            .map_or("", |m| m.content.as_str());
        let mode = mode.and_then(|name| self.modes.iter().find(|(n, _, _)| n == name));
        let records = mode
            .map(|(_, marker, kind)| self.records(system, marker, *kind))
            .unwrap_or_default();
        let user_text: Vec<&str> = prompt
            .iter()
            .filter(|m| m.role == Role::User)
            .map(|m| m.content.as_str())
            .collect();
        let mut context = CaseContext {
            kind: mode.map(|(_, _, kind)| *kind),
            ids: self
                .id_pattern
                .find_iter(system)
                .map(|m| m.as_str().to_string())
                .collect(),
            system_words: system
                .split(|c: char| c.is_whitespace() || ",;:|[]()\"'".contains(c))
                .filter(|w| !w.is_empty())
                .map(String::from)
                .collect(),
            dealer: self
                .dealer_patterns
                .iter()
                .find_map(|p| p.captures(system)?.get(1))
                .map(|m| m.as_str().trim().to_string()),
            user_amounts: user_amounts(prompt),
            user_mentions: user_text
                .iter()
                .flat_map(|t| self.lexicon.mentions(t))
                .collect(),
            context_amounts: prompt
                .iter()
                .flat_map(|m| find_amounts(&m.content, Scan::Quoted))
                .collect(),
            records,
            subject: Vec::new(),
        };
        context.subject = match context.kind {
            Some(ModeKind::Single) => (0..context.records.len()).collect(),
            _ => prompt
                .iter()
                .rev()
                .filter(|m| m.role != Role::System)
                .find_map(|m| {
                    let listed = self.listed_in(&context, &m.content);
                    (!listed.is_empty()).then_some(listed)
                })
                .unwrap_or_default(),
        };
        context
    }

    /// The records named in `text` (listed or of the wrong year).
    pub fn listed_in(&self, context: &CaseContext, text: &str) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .lexicon
            .mentions(text)
            .iter()
            .flat_map(|m| match self.resolve(context, m) {
                Resolution::Listed(r) | Resolution::WrongYear(r) => r,
                Resolution::Unlisted => Vec::new(),
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Which records a mention names.
    pub fn resolve(&self, context: &CaseContext, mention: &Mention) -> Resolution {
        let same_vehicle: Vec<usize> = context
            .records
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.vehicle
                    .as_ref()
                    .is_some_and(|v| self.same_vehicle(mention, v))
            })
            .map(|(i, _)| i)
            .collect();
        if same_vehicle.is_empty() {
            return Resolution::Unlisted;
        }
        let Some(year) = mention.year else {
            return Resolution::Listed(same_vehicle);
        };
        let same_year: Vec<usize> = same_vehicle
            .iter()
            .copied()
            .filter(|&i| context.records[i].year == Some(year))
            .collect();
        if same_year.is_empty() {
            Resolution::WrongYear(same_vehicle)
        } else {
            Resolution::Listed(same_year)
        }
    }

    /// True when `named` refers to the listed vehicle `listed` (the make alone names
    /// every vehicle of the make; a model names its own and the longer names it runs in).
    pub fn same_vehicle(&self, named: &Mention, listed: &Mention) -> bool {
        let make_agrees = named.make.is_none() || named.make == listed.make;
        match (named.model, listed.model) {
            (Some(n), Some(l)) => make_agrees && self.lexicon.model_refers_to(n, l),
            (Some(_), None) => false,
            (None, _) => named.make.is_some() && make_agrees,
        }
    }

    /// True when the user named this vehicle (the bot may then say it is not listed).
    pub fn user_named(&self, context: &CaseContext, mention: &Mention) -> bool {
        context.user_mentions.iter().any(|u| {
            let strip = |m: &Mention| Mention {
                year: None,
                ..m.clone()
            };
            self.same_vehicle(&strip(mention), &strip(u))
                || self.same_vehicle(&strip(u), &strip(mention))
        })
    }

    fn records(&self, system: &str, marker: &str, kind: ModeKind) -> Vec<Record> {
        let Some(at) = system.find(marker) else {
            return Vec::new();
        };
        let after_marker = &system[at..];
        let body_start = after_marker
            .find('\n')
            .map_or(after_marker.len(), |i| i + 1);
        let body = &after_marker[body_start..];
        let section = body.split("\n\n").next().unwrap_or("");
        match kind {
            ModeKind::Single => vec![self.record(section)],
            ModeKind::Inventory => section
                .lines()
                .filter(|line| !line.trim().is_empty())
                .map(|line| self.record(line))
                .filter(|r| r.vehicle.is_some())
                .collect(),
        }
    }

    fn record(&self, text: &str) -> Record {
        let vehicle = self
            .lexicon
            .mentions(text)
            .into_iter()
            .find(|m| m.model.is_some());
        let year = vehicle.as_ref().and_then(|v| v.year).or_else(|| {
            super::text::tokens(text)
                .iter()
                .find_map(|t| super::text::as_year(&t.folded))
        });
        let ids: Vec<String> = self
            .id_pattern
            .find_iter(text)
            .map(|m| m.as_str().to_string())
            .collect();
        let label = match &vehicle {
            Some(v) => {
                let name = self.lexicon.describe(&Mention { year, ..v.clone() });
                match ids.first() {
                    Some(id) => format!("{name} ({id})"),
                    None => name,
                }
            }
            None => match ids.first() {
                Some(id) => format!("the listed vehicle ({id})"),
                None => "the listed vehicle".into(),
            },
        };
        Record {
            vehicle,
            year,
            prices: find_amounts(text, Scan::Quoted),
            ids,
            label,
        }
    }
}
