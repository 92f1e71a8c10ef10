//! Compiling `[checks]`: data files read relative to the suite folder, regexes
//! compiled, modes and languages resolved. Every problem is an input error naming
//! suite.toml (or the data file), and the field.

use std::path::Path;

use regex::Regex;

use super::boundary::BoundaryRules;
use super::config::{BoundaryConfig, ChecksConfig, ContextConfig, LanguageConfig};
use super::context::{ContextReader, ModeKind};
use super::disclaimer::DisclaimerRules;
use super::language::{detector_for, language_of, LanguageRules};
use super::lexicon::Lexicon;
use super::refusal::RefusalRules;
use super::text::fold_phrase;
use super::{basic, Checks};
use crate::suite::ModeMarker;
use okla_formats::error::InputError;

/// Where the checks are declared: the suite folder and its manifest (for errors).
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The suite folder (data files are relative to it).
    pub dir: &'a Path,
    /// The manifest file.
    pub manifest: &'a Path,
}

impl Origin<'_> {
    fn error(&self, field: &str, message: impl Into<String>) -> InputError {
        InputError::file(self.manifest, message).with_field(format!("checks.{field}"))
    }

    fn regex(&self, field: &str, pattern: &str) -> Result<Regex, InputError> {
        Regex::new(pattern).map_err(|e| self.error(field, format!("not a valid regex: {e}")))
    }

    fn regexes(&self, field: &str, patterns: &[String]) -> Result<Vec<Regex>, InputError> {
        patterns
            .iter()
            .enumerate()
            .map(|(i, p)| self.regex(&format!("{field}[{i}]"), p))
            .collect()
    }

    fn non_empty<T>(&self, field: &str, items: &[T]) -> Result<(), InputError> {
        if items.is_empty() {
            Err(self.error(field, "needs at least one entry"))
        } else {
            Ok(())
        }
    }
}

impl Checks {
    /// Compile a suite's `[checks]`; `modes` are the suite's mode markers.
    pub fn load(
        config: &ChecksConfig,
        modes: &[ModeMarker],
        origin: Origin,
    ) -> Result<Checks, InputError> {
        let context = config
            .context
            .as_ref()
            .map(|c| context_reader(c, modes, origin))
            .transpose()?;
        let needs_context = [
            ("vehicle_grounding", config.vehicle_grounding.is_some()),
            ("price_grounding", config.price_grounding.is_some()),
            ("boundary", config.boundary.is_some()),
        ];
        if context.is_none() {
            if let Some((name, _)) = needs_context.iter().find(|(_, on)| *on) {
                return Err(origin.error(
                    name,
                    "reads the conversation's context: declare [checks.context] (lexicon, modes, id_pattern)",
                ));
            }
        }
        let refusal = match &config.legal_refusal {
            Some(c) => {
                if c.intent.trim().is_empty() {
                    return Err(origin.error("legal_refusal.intent", "must name an intent"));
                }
                origin.non_empty("legal_refusal.refusal_patterns", &c.refusal_patterns)?;
                let kinds = c
                    .kinds
                    .iter()
                    .enumerate()
                    .map(|(i, k)| {
                        let field = format!("legal_refusal.kinds[{i}].pattern");
                        Ok((k.name.clone(), origin.regex(&field, &k.pattern)?))
                    })
                    .collect::<Result<_, InputError>>()?;
                Some(RefusalRules {
                    intent: c.intent.clone(),
                    refusals: origin
                        .regexes("legal_refusal.refusal_patterns", &c.refusal_patterns)?,
                    kinds,
                })
            }
            None => None,
        };
        let disclaimer = match &config.price_disclaimer {
            Some(c) => {
                origin.non_empty("price_disclaimer.patterns", &c.patterns)?;
                Some(DisclaimerRules {
                    patterns: origin.regexes("price_disclaimer.patterns", &c.patterns)?,
                })
            }
            None => None,
        };
        Ok(Checks {
            response_field: config.response_field().to_string(),
            forbidden: basic::forbidden_regex(&config.forbidden_phrases),
            vehicle_id_fields: config
                .vehicle_grounding
                .as_ref()
                .map(|c| c.id_fields.clone()),
            price_fields: config
                .price_grounding
                .as_ref()
                .map(|c| c.price_fields.clone()),
            boundary: config
                .boundary
                .as_ref()
                .map(|c| boundary_rules(c, origin))
                .transpose()?,
            refusal,
            disclaimer,
            language: config
                .language
                .as_ref()
                .map(|c| language_rules(c, origin))
                .transpose()?,
            context,
        })
    }
}

fn context_reader(
    c: &ContextConfig,
    modes: &[ModeMarker],
    origin: Origin,
) -> Result<ContextReader, InputError> {
    let lexicon = Lexicon::load(&origin.dir.join(&c.lexicon))?;
    let mut resolved = Vec::new();
    for (field, names, kind) in [
        ("context.single_modes", &c.single_modes, ModeKind::Single),
        (
            "context.inventory_modes",
            &c.inventory_modes,
            ModeKind::Inventory,
        ),
    ] {
        for name in names {
            let marker = modes.iter().find(|m| &m.name == name).ok_or_else(|| {
                origin.error(
                    field,
                    format!("{name:?} is not one of the suite's [[modes]]"),
                )
            })?;
            resolved.push((name.clone(), marker.marker.clone(), kind));
        }
    }
    Ok(ContextReader {
        lexicon,
        modes: resolved,
        id_pattern: origin.regex("context.id_pattern", &c.id_pattern)?,
        dealer_patterns: origin.regexes("context.dealer_name_patterns", &c.dealer_name_patterns)?,
    })
}

fn boundary_rules(c: &BoundaryConfig, origin: Origin) -> Result<BoundaryRules, InputError> {
    let dealers = match &c.dealer_lexicon {
        Some(file) => word_list(&origin.dir.join(file))?
            .into_iter()
            .map(|name| {
                let key = fold_phrase(&name);
                (name, key)
            })
            .collect(),
        None => Vec::new(),
    };
    Ok(BoundaryRules {
        dealers,
        dealer_patterns: origin
            .regexes("boundary.dealer_name_patterns", &c.dealer_name_patterns)?,
        competition: origin.regexes("boundary.competition_patterns", &c.competition_patterns)?,
        negations: c.negations.iter().map(|n| fold_phrase(n)).collect(),
        offers: origin.regexes("boundary.offer_patterns", &c.offer_patterns)?,
        declines: origin.regexes("boundary.decline_patterns", &c.decline_patterns)?,
    })
}

fn language_rules(c: &LanguageConfig, origin: Origin) -> Result<LanguageRules, InputError> {
    let expected =
        language_of(&c.expected).map_err(|msg| origin.error("language.expected", msg))?;
    let candidates = c
        .candidates
        .iter()
        .map(|code| language_of(code).map_err(|msg| origin.error("language.candidates", msg)))
        .collect::<Result<Vec<_>, _>>()?;
    if candidates.len() < 2 || !candidates.contains(&expected) {
        return Err(origin.error(
            "language.candidates",
            "list at least two languages, the expected one among them",
        ));
    }
    let slang = match &c.slang_lexicon {
        Some(file) => word_list(&origin.dir.join(file))?
            .iter()
            .map(|w| fold_phrase(w))
            .collect(),
        None => Vec::new(),
    };
    Ok(LanguageRules {
        expected,
        detector: detector_for(&candidates),
        min_letters: c.min_letters,
        slang,
    })
}

/// A data file of one entry per line; blank lines and `#` comments skipped.
fn word_list(path: &Path) -> Result<Vec<String>, InputError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::file(path, format!("cannot read: {e}")))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect())
}
