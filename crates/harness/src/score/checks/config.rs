//! `[checks]` in suite.toml: which domain checks run and the data each one reads.
//! A grounded check runs when its table is present; the data files it names are
//! paths relative to the suite folder, so another domain's suite reuses the
//! machinery with its own lexicons and patterns.

use serde::{Deserialize, Serialize};

/// Suite-level settings of the domain checks (`[checks]` in suite.toml).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChecksConfig {
    /// The field holding the user-visible text (default `response`).
    pub response_field: Option<String>,
    /// Phrases that must never appear in an answer (`legal_compliance`, case-insensitive).
    pub forbidden_phrases: Vec<String>,
    /// How the context of a conversation is read (needed by the grounded checks).
    pub context: Option<ContextConfig>,
    /// `vehicle_grounding`: every vehicle named is in the context.
    pub vehicle_grounding: Option<VehicleGroundingConfig>,
    /// `price_grounding`: every amount belongs to the vehicle it is said of.
    pub price_grounding: Option<PriceGroundingConfig>,
    /// `boundary`: the mode's limits (one vehicle; this dealer only).
    pub boundary: Option<BoundaryConfig>,
    /// `legal_refusal`: illegal requests are refused.
    pub legal_refusal: Option<LegalRefusalConfig>,
    /// `price_disclaimer`: a quoted price carries its disclaimer.
    pub price_disclaimer: Option<PriceDisclaimerConfig>,
    /// `language`: the response is in the suite's language.
    pub language: Option<LanguageConfig>,
}

impl ChecksConfig {
    /// The answer field holding the user-visible text.
    pub fn response_field(&self) -> &str {
        self.response_field.as_deref().unwrap_or("response")
    }

    /// The data files the checks read, relative to the suite folder.
    pub fn data_files(&self) -> Vec<&str> {
        let context = self.context.iter().map(|c| c.lexicon.as_str());
        let dealers = self
            .boundary
            .iter()
            .filter_map(|b| b.dealer_lexicon.as_deref());
        let slang = self
            .language
            .iter()
            .filter_map(|l| l.slang_lexicon.as_deref());
        context.chain(dealers).chain(slang).collect()
    }
}

/// How to read a conversation's context: the vehicles it lists and whose dealer it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextConfig {
    /// The vehicle lexicon (TOML: `[[make]] name, aliases, models`; `needs_make`).
    pub lexicon: String,
    /// Modes (suite `[[modes]]` names) whose context is one vehicle: the section after
    /// the mode's marker, up to the first blank line.
    #[serde(default)]
    pub single_modes: Vec<String>,
    /// Modes whose context is an inventory: each line of that section is one vehicle.
    #[serde(default)]
    pub inventory_modes: Vec<String>,
    /// Regex of the listing ids in the context (e.g. `OK-58382`, `v019`).
    pub id_pattern: String,
    /// Regexes whose first group captures this conversation's dealer in the system prompt.
    #[serde(default)]
    pub dealer_name_patterns: Vec<String>,
}

/// `vehicle_grounding` settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VehicleGroundingConfig {
    /// JSON pointers into the answer whose strings (or arrays of strings) are listing
    /// ids that must be ids of the context (e.g. `/parameters/vehicleId`).
    pub id_fields: Vec<String>,
}

/// `price_grounding` settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PriceGroundingConfig {
    /// JSON pointers into the answer whose numbers are prices (e.g. `/parameters/price`).
    pub price_fields: Vec<String>,
}

/// `boundary` settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BoundaryConfig {
    /// A file of dealer names, one per line (`#` comments): naming any but this
    /// conversation's dealer crosses the boundary.
    pub dealer_lexicon: Option<String>,
    /// Regexes of dealer-like names (`… Motors`, `Autos …`) not in the lexicon.
    pub dealer_name_patterns: Vec<String>,
    /// Regexes of sending the customer to, or comparing with, the competition.
    pub competition_patterns: Vec<String>,
    /// Words that turn a sentence into a refusal (`no`, `nunca`, `solo`): a
    /// competition pattern in such a sentence is the bot declining, not crossing.
    pub negations: Vec<String>,
    /// Regexes of offering other vehicles in a single-vehicle conversation ("también
    /// tenemos", "otras opciones").
    pub offer_patterns: Vec<String>,
    /// Regexes of the sanctioned way to decline ("ver el perfil del dealer"): a
    /// sentence matching one is not an offer.
    pub decline_patterns: Vec<String>,
}

/// `legal_refusal` settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LegalRefusalConfig {
    /// The reference intent of the turns that must be refused.
    pub intent: String,
    /// Regexes of a refusal in the response.
    pub refusal_patterns: Vec<String>,
    /// Kinds of request (by the user's last message), for the per-kind breakdown.
    pub kinds: Vec<RequestKind>,
}

/// One kind of illegal request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestKind {
    /// The kind's name in reports (e.g. `tax_evasion`).
    pub name: String,
    /// Regex over the user's last message.
    pub pattern: String,
}

/// `price_disclaimer` settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PriceDisclaimerConfig {
    /// Regexes of the disclaimer (any one suffices).
    pub patterns: Vec<String>,
}

/// `language` settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageConfig {
    /// ISO 639-1 code the response must be in (e.g. `es`).
    pub expected: String,
    /// ISO 639-1 codes the detector chooses among (the expected one included).
    pub candidates: Vec<String>,
    /// Responses with fewer letters than this are too short to judge.
    #[serde(default = "default_min_letters")]
    pub min_letters: usize,
    /// A file of regional words (one per line, `#` comments), reported as the figure
    /// `dominican_slang`: the share of responses using one, never a verdict.
    #[serde(default)]
    pub slang_lexicon: Option<String>,
}

fn default_min_letters() -> usize {
    12
}
