//! `language`: the response is written in the suite's language, by lingua (a
//! maintained n-gram language identifier that stays accurate on short texts; measured
//! on our references in docs/checks.md), choosing among the suite's candidate
//! languages. It reads the prose: listing lines (`• 2023 Nissan Kicks Advance —
//! RD$1,240,000`) are names and figures of no language, and a few of them beside one
//! Spanish sentence made lingua answer Catalan; they are left out unless too little
//! prose remains. Also the `slang` figure: the share of responses using a regional word
//! from the suite's list — reported, never judged.

use lingua::{IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder};

use super::text::fold_phrase;
use super::CheckVerdict;

/// The compiled `[checks.language]` rules.
pub struct LanguageRules {
    /// The language required.
    pub expected: Language,
    /// The detector over the candidate languages.
    pub detector: LanguageDetector,
    /// Responses shorter than this (in letters) are not judged.
    pub min_letters: usize,
    /// Regional words, folded.
    pub slang: Vec<String>,
}

impl std::fmt::Debug for LanguageRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LanguageRules")
            .field("expected", &self.expected)
            .field("min_letters", &self.min_letters)
            .field("slang", &self.slang.len())
            .finish()
    }
}

/// The language of an ISO 639-1 code this build can identify.
pub fn language_of(code: &str) -> Result<Language, String> {
    let iso: IsoCode639_1 = code
        .parse()
        .map_err(|_| format!("unknown or unsupported ISO 639-1 code {code:?}"))?;
    Ok(Language::from_iso_code_639_1(&iso))
}

/// A detector choosing among `languages` (at least two).
pub fn detector_for(languages: &[Language]) -> LanguageDetector {
    LanguageDetectorBuilder::from_languages(languages).build()
}

impl LanguageRules {
    /// `language` on one response (`None` when too short or undecidable).
    pub fn check(&self, response: &str) -> Option<CheckVerdict> {
        let letters = |text: &str| text.chars().filter(|c| c.is_alphabetic()).count();
        if letters(response) < self.min_letters {
            return None;
        }
        let prose = prose_of(response);
        let judged = if letters(&prose) >= self.min_letters {
            prose.as_str()
        } else {
            response
        };
        let detected = self.detector.detect_language_of(judged)?;
        Some(CheckVerdict::from_reasons(if detected == self.expected {
            Vec::new()
        } else {
            vec![format!(
                "the response reads as {detected}, not {}",
                self.expected
            )]
        }))
    }

    /// Whether the response uses a regional word (`None` without a word list).
    pub fn uses_slang(&self, response: &str) -> Option<bool> {
        if self.slang.is_empty() {
            return None;
        }
        let folded = format!(" {} ", fold_phrase(response));
        Some(
            self.slang
                .iter()
                .any(|w| folded.contains(&format!(" {w} "))),
        )
    }
}

/// The response without its listing lines (those opening with a bullet, `•` or `- `).
fn prose_of(response: &str) -> String {
    response
        .lines()
        .filter(|line| {
            let line = line.trim_start();
            !(line.starts_with('•') || line.starts_with("- "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}
