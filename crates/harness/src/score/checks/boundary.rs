//! `boundary`: an answer keeps to its mode. No mode names or recommends another dealer
//! or sends the customer to the competition; a single-vehicle answer speaks of its
//! vehicle only: it names no other vehicle but those the user brought up (the one asked
//! about, a trade-in) and offers no others (except the sanctioned "see the dealer's
//! profile").

use regex::Regex;

use super::context::{CaseContext, ContextReader, ModeKind, Resolution};
use super::text::{fold_phrase, segments};
use super::CheckVerdict;

/// The compiled `[checks.boundary]` rules.
#[derive(Debug, Clone)]
pub struct BoundaryRules {
    /// Known dealer names, folded.
    pub dealers: Vec<(String, String)>,
    /// Dealer-like names.
    pub dealer_patterns: Vec<Regex>,
    /// Sending the customer to, or comparing with, the competition.
    pub competition: Vec<Regex>,
    /// Negation words, folded.
    pub negations: Vec<String>,
    /// Offering other vehicles.
    pub offers: Vec<Regex>,
    /// The sanctioned way to decline.
    pub declines: Vec<Regex>,
}

impl BoundaryRules {
    /// `boundary` on one answer (`None` outside the modes the context reader knows).
    pub fn check(
        &self,
        reader: &ContextReader,
        context: &CaseContext,
        response: &str,
    ) -> Option<CheckVerdict> {
        let kind = context.kind?;
        let own = context.dealer.as_deref().map(fold_phrase);
        let mut reasons = Vec::new();
        for dealer in self.other_dealers(response, own.as_deref()) {
            reasons.push(format!("names another dealer, “{dealer}”"));
        }
        for range in segments(response) {
            let sentence = &response[range];
            let declined = fold_phrase(sentence)
                .split(' ')
                .any(|w| self.negations.iter().any(|n| n == w))
                || self.declines.iter().any(|p| p.is_match(sentence));
            if declined {
                continue;
            }
            if self.competition.iter().any(|p| p.is_match(sentence)) {
                reasons.push(format!("points to the competition: “{}”", sentence.trim()));
            }
            if kind == ModeKind::Single && self.offers.iter().any(|p| p.is_match(sentence)) {
                reasons.push(format!("offers other vehicles: “{}”", sentence.trim()));
            }
        }
        if kind == ModeKind::Single {
            for mention in reader.lexicon.mentions(response) {
                let other = reader.resolve(context, &mention) == Resolution::Unlisted;
                if other && !reader.user_named(context, &mention) {
                    reasons.push(format!(
                        "speaks of “{}” in a single-vehicle conversation",
                        reader.lexicon.describe(&mention)
                    ));
                }
            }
        }
        Some(CheckVerdict::from_reasons(reasons))
    }

    /// Dealer names in `text` other than this conversation's own.
    fn other_dealers(&self, text: &str, own: Option<&str>) -> Vec<String> {
        let folded = format!(" {} ", fold_phrase(text));
        let is_own = |name: &str| own.is_some_and(|o| o == fold_phrase(name));
        let mut found: Vec<String> = self
            .dealers
            .iter()
            .filter(|(name, key)| !is_own(name) && folded.contains(&format!(" {key} ")))
            .map(|(name, _)| name.clone())
            .collect();
        for pattern in &self.dealer_patterns {
            for m in pattern.find_iter(text) {
                let name = m.as_str().trim().to_string();
                let known = found.iter().any(|f| fold_phrase(f) == fold_phrase(&name));
                let folded_name = fold_phrase(&name);
                let overlaps_own =
                    own.is_some_and(|o| o.contains(&folded_name) || folded_name.contains(o));
                if !known && !overlaps_own {
                    found.push(name);
                }
            }
        }
        found
    }
}
