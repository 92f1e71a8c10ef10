//! Text helpers shared by the grounded checks: word tokens with their byte spans
//! (accents folded, hyphens dropped, so "CR-V", "crv" and "Cr-v" are one token) and
//! the split of an answer into segments (lines, bullets, sentences) that a claim
//! belongs to.

use std::ops::Range;

/// One word of a text, folded for matching, with where it stands in the original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Lower-case, accent-free, hyphens removed (`"CR-V"` → `"crv"`).
    pub folded: String,
    /// Byte range in the original text.
    pub span: Range<usize>,
}

/// Fold one character for matching: lower case without accents (`Á` → `a`, `ñ` stays `ñ`).
fn fold_char(c: char) -> char {
    match c {
        'á' | 'à' | 'ä' | 'â' | 'Á' | 'À' | 'Ä' | 'Â' => 'a',
        'é' | 'è' | 'ë' | 'ê' | 'É' | 'È' | 'Ë' | 'Ê' => 'e',
        'í' | 'ì' | 'ï' | 'î' | 'Í' | 'Ì' | 'Ï' | 'Î' => 'i',
        'ó' | 'ò' | 'ö' | 'ô' | 'Ó' | 'Ò' | 'Ö' | 'Ô' => 'o',
        'ú' | 'ù' | 'ü' | 'û' | 'Ú' | 'Ù' | 'Ü' | 'Û' => 'u',
        'Ñ' => 'ñ',
        other => other.to_ascii_lowercase(),
    }
}

/// A whole phrase folded the way [`tokens`] folds words, words joined by one space.
pub fn fold_phrase(phrase: &str) -> String {
    tokens(phrase)
        .into_iter()
        .map(|t| t.folded)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The words of `text`: runs of letters and digits, joined across inner hyphens
/// (`"D-Max"` is one token `"dmax"`).
pub fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = None;
    let mut last_end = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (i, &(at, c)) in chars.iter().enumerate() {
        if c.is_alphanumeric() {
            if start.is_none() {
                start = Some(at);
            }
            current.push(fold_char(c));
            last_end = at + c.len_utf8();
            continue;
        }
        let inner_hyphen = c == '-'
            && start.is_some()
            && chars.get(i + 1).is_some_and(|&(_, n)| n.is_alphanumeric());
        if inner_hyphen {
            continue;
        }
        if let Some(s) = start.take() {
            out.push(Token {
                folded: std::mem::take(&mut current),
                span: s..last_end,
            });
        }
    }
    if let Some(s) = start {
        out.push(Token {
            folded: current,
            span: s..last_end,
        });
    }
    out
}

/// A 19xx/20xx model year.
pub fn as_year(token: &str) -> Option<u16> {
    let year: u16 = token.parse().ok()?;
    (token.len() == 4 && (1950..=2099).contains(&year)).then_some(year)
}

/// Split an answer into the segments a claim belongs to: lines, bullets (`•`) and
/// sentences (ended by `.`, `!`, `?` or `;` before white space). Empty segments are dropped.
pub fn segments(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut iter = text.char_indices().peekable();
    while let Some((at, c)) = iter.next() {
        let next_is_space = iter.peek().is_some_and(|&(_, n)| n.is_whitespace());
        let cut = match c {
            '\n' | '•' => Some(at),
            '.' | '!' | '?' | ';' if next_is_space => Some(at + c.len_utf8()),
            _ => None,
        };
        if let Some(end) = cut {
            push_segment(text, start..end, &mut out);
            start = at + c.len_utf8();
        }
    }
    push_segment(text, start..text.len(), &mut out);
    out
}

fn push_segment(text: &str, range: Range<usize>, out: &mut Vec<Range<usize>>) {
    if !text[range.clone()].trim().is_empty() {
        out.push(range);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_fold_case_accents_and_hyphens() {
        let t = tokens("La Honda CR-V 2024, ¿y la Hyundai H-1? Camión -barato");
        let folded: Vec<&str> = t.iter().map(|t| t.folded.as_str()).collect();
        assert_eq!(
            folded,
            ["la", "honda", "crv", "2024", "y", "la", "hyundai", "h1", "camion", "barato"]
        );
        assert_eq!(&"La Honda CR-V 2024"[t[2].span.clone()], "CR-V");
        assert_eq!(
            fold_phrase("Mercedes-Benz  GLC 300"),
            "mercedesbenz glc 300"
        );
    }

    #[test]
    fn years_are_four_digit_model_years() {
        assert_eq!(as_year("2024"), Some(2024));
        assert_eq!(as_year("350"), None);
        assert_eq!(as_year("5000"), None);
    }

    #[test]
    fn segments_split_lines_bullets_and_sentences() {
        let text = "Tenemos dos: • Kia K5 — RD$2,100,000 • Mazda 3 — RD$1,500,000\nEl precio es 1.6 millones. ¿Te interesa?";
        let parts: Vec<&str> = segments(text).into_iter().map(|r| text[r].trim()).collect();
        assert_eq!(
            parts,
            [
                "Tenemos dos:",
                "Kia K5 — RD$2,100,000",
                "Mazda 3 — RD$1,500,000",
                "El precio es 1.6 millones.",
                "¿Te interesa?"
            ]
        );
    }
}
