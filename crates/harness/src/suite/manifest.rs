//! `suite.toml`: what a suite is made of (case files, eval split, response
//! schema, required fields, modes, decoding settings, turns to score, thresholds).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::gate::{check_threshold, Threshold};
use crate::locate::toml_key_line;
use crate::score::ChecksConfig;
use okla_formats::error::InputError;
use okla_text::Decoding;

/// The parsed `suite.toml` manifest. Paths are relative to the suite folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Short name of the suite (used in reports and golden file names).
    pub name: String,
    /// One line saying what the suite measures.
    #[serde(default)]
    pub description: String,
    /// The JSONL conversation files whose assistant turns are scored.
    pub cases: Vec<String>,
    /// The JSONL file used for teacher-forced eval loss / perplexity, if any.
    #[serde(default)]
    pub eval_split: Option<String>,
    /// JSON Schema (file) every assistant answer must satisfy.
    pub schema: String,
    /// The GGUF model `gate` runs when given no model, endpoint or predictions.
    #[serde(default)]
    pub default_model: Option<String>,
    /// A GGUF LoRA adapter applied at run time on top of `default_model` (llama.cpp's
    /// `--lora`), when the default model is a base plus an adapter.
    #[serde(default)]
    pub default_lora: Option<String>,
    /// Fields that must be present with the schema's type for an answer to be "complete".
    #[serde(default)]
    pub required_fields: Vec<String>,
    /// The field holding the intent label (compared exactly with the reference).
    #[serde(default)]
    pub intent_field: Option<String>,
    /// Mode markers: a substring of the system prompt names the conversation's mode.
    #[serde(default)]
    pub modes: Vec<ModeMarker>,
    /// Which assistant turns become cases.
    #[serde(default)]
    pub turns: TurnSelection,
    /// Decoding settings used when a backend generates.
    #[serde(default)]
    pub decoding: Decoding,
    /// The decoding arms a gate runs when the command line names none (`greedy`,
    /// `production+schema`, ...; see [`crate::arm`]). Empty: one arm, the suite's decoding.
    #[serde(default)]
    pub arms: Vec<String>,
    /// Settings of the domain checks (PII, legal phrases, price grounding).
    #[serde(default)]
    pub checks: ChecksConfig,
    /// Gate thresholds by metric name.
    #[serde(default)]
    pub thresholds: BTreeMap<String, Threshold>,
}

/// `marker` appearing in the system prompt means the conversation is in mode `name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeMarker {
    /// Substring searched for in the system prompt.
    pub marker: String,
    /// Mode name reported in breakdowns (e.g. `SingleVehicle`).
    pub name: String,
}

/// Which assistant turns of each conversation are scored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TurnSelection {
    /// Every assistant turn, with the real conversation history before it (default).
    #[default]
    All,
    /// Only the first assistant turn of each conversation.
    First,
}

impl Manifest {
    /// Parse a manifest from TOML text; errors name the file, line and field.
    pub fn parse(text: &str, file: &Path) -> Result<Manifest, InputError> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| 1 + text[..s.start.min(text.len())].matches('\n').count());
            InputError {
                file: Some(file.to_path_buf()),
                line,
                field: None,
                message: e.message().to_string(),
            }
        })?;
        manifest.validate(file, text)?;
        Ok(manifest)
    }

    /// Check what TOML cannot: every error names the file, the line that sets the field
    /// (of `text`) and the field.
    fn validate(&self, file: &Path, text: &str) -> Result<(), InputError> {
        let bad = |table: Option<&str>, key: &str, message: String| InputError {
            file: Some(file.to_path_buf()),
            line: toml_key_line(text, table, key),
            field: Some(match table {
                Some(table) => format!("{table}.{key}"),
                None => key.to_string(),
            }),
            message,
        };
        if self.cases.is_empty() {
            return Err(bad(
                None,
                "cases",
                "a suite needs at least one case file".into(),
            ));
        }
        if self.decoding.max_new_tokens == 0 {
            let why = "must be at least 1".into();
            return Err(bad(Some("decoding"), "max_new_tokens", why));
        }
        if !(0.0..=1.0).contains(&self.decoding.top_p) || self.decoding.top_p == 0.0 {
            return Err(bad(Some("decoding"), "top_p", "must be in (0, 1]".into()));
        }
        crate::arm::Arm::parse_all(&self.arms, &self.decoding)
            .map_err(|why| bad(None, "arms", why))?;
        for (name, t) in &self.thresholds {
            check_threshold(name, t).map_err(|msg| bad(Some("thresholds"), name, msg))?;
        }
        Ok(())
    }
}
