//! Money amounts in free text, the way Dominican customers and the bot write them:
//! `RD$2,850,000`, `$1.6 millones`, `2 millones`, `como 800 mil`, `1.5 palos`,
//! `dos millones`, `US$25,000`, `1,200,000 pesos`. Each amount keeps the precision it
//! was stated with, so `2.1 millones` matches a listed `RD$2,100,000` and `2 millones`
//! matches anything that rounds to it.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

/// The currency an amount was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Currency {
    /// Dominican pesos (`RD$`, `DOP`, `pesos`).
    Dop,
    /// US dollars (`US$`, `USD`, `dólares`).
    Usd,
    /// A bare `$` or a magnitude word alone: either.
    Unstated,
}

/// One amount found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Amount {
    /// The amount in units of its currency.
    pub value: f64,
    /// Half a unit of the last digit stated (`2.1 millones` → 50,000; `RD$2,100,000` → 0).
    pub tolerance: f64,
    /// The currency written.
    pub currency: Currency,
    /// Where it stands in the text.
    pub span: Range<usize>,
}

impl Amount {
    /// True when both could be the same amount: compatible currencies and values within
    /// the precision either was stated with.
    pub fn matches(&self, other: &Amount) -> bool {
        let currencies_agree = self.currency == other.currency
            || self.currency == Currency::Unstated
            || other.currency == Currency::Unstated;
        currencies_agree && (self.value - other.value).abs() <= self.tolerance + other.tolerance
    }

    /// True when this quoted amount repeats `stated` (what the user said): equal within
    /// this amount's own precision only, so a budget of "1 millón" covers an echoed
    /// "RD$1,000,000" but not a price of RD$1,050,000 said of some vehicle.
    pub fn echoes(&self, stated: &Amount) -> bool {
        let currencies_agree = self.currency == stated.currency
            || self.currency == Currency::Unstated
            || stated.currency == Currency::Unstated;
        currencies_agree && (self.value - stated.value).abs() <= self.tolerance
    }

    /// The amount as the listing would write it (`RD$2,100,000`).
    pub fn display(&self) -> String {
        let prefix = match self.currency {
            Currency::Usd => "US$",
            Currency::Dop | Currency::Unstated => "RD$",
        };
        format!(
            "{prefix}{}",
            super::basic::group_thousands(&format!("{:.0}", self.value))
        )
    }
}

static NUMERIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (?P<pre>(?i:RD\$|US\$|USD|DOP)|\$)?\s?
        (?P<num>\d+(?:[.,]\d+)*)
        (?:\s*(?P<mag>(?i:millones|millón|millon|mil|palos|palo))\b|(?P<mega>M)\b)?
        (?:\s*(?i:de\s+)?(?P<post>(?i:pesos|dólares|dolares|usd|dop))\b)?",
    )
    .expect("valid amount regex")
});

static WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?P<word>un|una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|medio)\s+(?P<mag>millones|millón|millon|palos|palo)\b",
    )
    .expect("valid amount-word regex")
});

static UNIT_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?i:km|kms|kilómetros|kilometros|millas|cc|hp|%)").expect("valid unit regex")
});

/// Which bare numbers count as amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// Only numbers with a currency or a magnitude word (what the bot quotes).
    Quoted,
    /// Also bare numbers of 10,000 or more (how a customer states a budget: "tengo 1500000").
    Stated,
}

/// Every amount in `text`, in order.
pub fn find_amounts(text: &str, scan: Scan) -> Vec<Amount> {
    let mut out: Vec<Amount> = Vec::new();
    for c in NUMERIC.captures_iter(text) {
        let whole = c.get(0).expect("group 0");
        let start = c.name("pre").unwrap_or(c.name("num").expect("num")).start();
        if UNIT_AFTER.is_match(&text[whole.end()..]) || preceded_by_id_or_word(text, start) {
            continue;
        }
        let magnitude = match (c.name("mag"), c.name("mega")) {
            (Some(m), _) => Some(magnitude_of(m.as_str())),
            (None, Some(_)) => Some(1e6),
            _ => None,
        };
        let currency = currency_of(
            c.name("pre").map(|m| m.as_str()),
            c.name("post").map(|m| m.as_str()),
        );
        let marked = c.name("pre").is_some() || c.name("post").is_some() || magnitude.is_some();
        let Some((value, tolerance)) = parse_number(&c["num"], magnitude) else {
            continue;
        };
        if marked || (scan == Scan::Stated && value >= 10_000.0) {
            out.push(Amount {
                value,
                tolerance,
                currency,
                span: start..whole.end(),
            });
        }
    }
    for c in WORDS.captures_iter(text) {
        let unit = match c["word"].to_lowercase().as_str() {
            "un" | "una" => 1.0,
            "dos" => 2.0,
            "tres" => 3.0,
            "cuatro" => 4.0,
            "cinco" => 5.0,
            "seis" => 6.0,
            "siete" => 7.0,
            "ocho" => 8.0,
            "nueve" => 9.0,
            "diez" => 10.0,
            _ => 0.5,
        };
        let whole = c.get(0).expect("group 0");
        out.push(Amount {
            value: unit * 1e6,
            tolerance: 0.5e6 * if unit < 1.0 { 0.5 } else { 1.0 },
            currency: Currency::Unstated,
            span: whole.range(),
        });
    }
    out.sort_by_key(|a| a.span.start);
    out
}

/// True when the number at `at` is glued to letters before it (an id like `OK-58382`, `v019`).
fn preceded_by_id_or_word(text: &str, at: usize) -> bool {
    let before = text[..at].chars().next_back();
    before.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '#')
}

fn magnitude_of(word: &str) -> f64 {
    if word.eq_ignore_ascii_case("mil") {
        1e3
    } else {
        1e6
    }
}

fn currency_of(pre: Option<&str>, post: Option<&str>) -> Currency {
    let word = pre.or(post).unwrap_or("").to_lowercase();
    match word.as_str() {
        "rd$" | "dop" | "pesos" => Currency::Dop,
        "us$" | "usd" | "dólares" | "dolares" => Currency::Usd,
        _ => Currency::Unstated,
    }
}

/// The value and the half-unit tolerance of a number as written, times `magnitude`.
fn parse_number(num: &str, magnitude: Option<f64>) -> Option<(f64, f64)> {
    let grouped = is_thousands_grouped(num);
    let (value, decimals) = if grouped {
        (num.replace([',', '.'], "").parse::<f64>().ok()?, 0)
    } else {
        let decimal = num.replace(',', ".");
        let decimals = decimal.split_once('.').map_or(0, |(_, d)| d.len());
        if decimal.matches('.').count() > 1 {
            return None;
        }
        (decimal.parse::<f64>().ok()?, decimals as i32)
    };
    match magnitude {
        Some(m) => Some((value * m, 0.5 * 10f64.powi(-decimals) * m)),
        None => Some((value, 0.0)),
    }
}

/// `1,600,000` or `1.600.000`: groups of three after the first.
fn is_thousands_grouped(num: &str) -> bool {
    let mut parts = num.split([',', '.']);
    let first = parts.next().unwrap_or("");
    let rest: Vec<&str> = parts.collect();
    !rest.is_empty()
        && (1..=3).contains(&first.len())
        && rest.iter().all(|p| p.len() == 3)
        && num.chars().filter(|c| !c.is_ascii_digit()).all(|c| {
            c == num
                .chars()
                .find(|c| !c.is_ascii_digit())
                .expect("has a separator")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str, scan: Scan) -> Vec<(f64, f64)> {
        find_amounts(text, scan)
            .into_iter()
            .map(|a| (a.value, a.tolerance))
            .collect()
    }

    #[test]
    fn reads_the_ways_prices_are_written() {
        assert_eq!(
            values("Cuesta RD$2,850,000 o US$48,000.", Scan::Quoted),
            [(2_850_000.0, 0.0), (48_000.0, 0.0)]
        );
        assert_eq!(
            values("como 2.1 millones, o 800 mil, o 1.5 palos", Scan::Quoted),
            [
                (2_100_000.0, 50_000.0),
                (800_000.0, 500.0),
                (1_500_000.0, 50_000.0)
            ]
        );
        assert_eq!(values("dos millones", Scan::Quoted), [(2e6, 5e5)]);
        assert_eq!(values("1,200,000 pesos", Scan::Quoted), [(1.2e6, 0.0)]);
        assert_eq!(values("RD$ 1.600.000", Scan::Quoted), [(1.6e6, 0.0)]);
    }

    #[test]
    fn skips_mileage_years_ids_and_bare_numbers() {
        assert!(values(
            "24,000 km, 2024, ID: OK-58382, v019, 12 pasajeros",
            Scan::Quoted
        )
        .is_empty());
        assert!(values("5 mil km", Scan::Quoted).is_empty());
        assert_eq!(values("tengo 1500000 y 300", Scan::Stated), [(1.5e6, 0.0)]);
    }

    #[test]
    fn matching_respects_precision_and_currency() {
        let listed = &find_amounts("RD$2,100,000", Scan::Quoted)[0];
        let approx = &find_amounts("2.1 millones", Scan::Quoted)[0];
        let other = &find_amounts("RD$2,150,000", Scan::Quoted)[0];
        let dollars = &find_amounts("US$2,100,000", Scan::Quoted)[0];
        assert!(approx.matches(listed));
        assert!(!other.matches(listed));
        assert!(!dollars.matches(listed));
        let budget = &find_amounts("tengo 1 millón", Scan::Stated)[0];
        let echoed = &find_amounts("RD$1,000,000", Scan::Quoted)[0];
        let near = &find_amounts("RD$1,050,000", Scan::Quoted)[0];
        assert!(echoed.echoes(budget));
        assert!(!near.echoes(budget));
        assert_eq!(listed.display(), "RD$2,100,000");
    }
}
