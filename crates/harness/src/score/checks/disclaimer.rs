//! `price_disclaimer` (Ley 358-05): an answer that quotes a price says that the price is
//! a reference to be confirmed. Repeating an amount the user gave is not a quote, unless
//! that amount is also a listed price.

use regex::Regex;

use super::amount::{find_amounts, Amount, Scan};
use super::CheckVerdict;

/// The compiled `[checks.price_disclaimer]` rules.
#[derive(Debug, Clone)]
pub struct DisclaimerRules {
    /// Any one of these is the disclaimer.
    pub patterns: Vec<Regex>,
}

impl DisclaimerRules {
    /// `price_disclaimer` on one response (`None` when it quotes no price of its own).
    pub fn check(
        &self,
        user_amounts: &[Amount],
        listed: &[Amount],
        response: &str,
    ) -> Option<CheckVerdict> {
        let quotes = find_amounts(response, Scan::Quoted).into_iter().any(|a| {
            listed.iter().any(|l| a.matches(l)) || !user_amounts.iter().any(|u| a.echoes(u))
        });
        if !quotes {
            return None;
        }
        let disclaimed = self.patterns.iter().any(|p| p.is_match(response));
        Some(CheckVerdict::from_reasons(if disclaimed {
            Vec::new()
        } else {
            vec!["quotes a price without saying it is a reference to confirm".into()]
        }))
    }
}
