//! `suite.toml`: what a suite is made of (case files, eval split, response
//! schema, required fields, modes, decoding settings, turns to score, thresholds).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::gate::Threshold;
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
        manifest.validate(file)?;
        Ok(manifest)
    }

    fn validate(&self, file: &Path) -> Result<(), InputError> {
        let bad = |field: &str, msg: String| InputError::file(file, msg).with_field(field);
        if self.cases.is_empty() {
            return Err(bad("cases", "a suite needs at least one case file".into()));
        }
        if self.decoding.max_new_tokens == 0 {
            return Err(bad("decoding.max_new_tokens", "must be at least 1".into()));
        }
        if !(0.0..=1.0).contains(&self.decoding.top_p) || self.decoding.top_p == 0.0 {
            return Err(bad("decoding.top_p", "must be in (0, 1]".into()));
        }
        for (name, t) in &self.thresholds {
            crate::score::check_metric_name(name)
                .map_err(|msg| bad(&format!("thresholds.{name}"), msg))?;
            t.validate()
                .map_err(|msg| bad(&format!("thresholds.{name}"), msg))?;
        }
        Ok(())
    }
}
