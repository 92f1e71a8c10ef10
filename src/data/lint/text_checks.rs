//! Checks on an assistant's response text against the team's deploy rules:
//! prices must come from the context (anti-hallucination), personal numbers the
//! user typed must never be echoed (Ley 172-13), and no phrase may present a
//! price as final or make a binding promise (Ley 358-05, Código Civil).

/// Phrases the legal audit forbids in a bot answer (matched case-insensitively).
pub const FORBIDDEN_PHRASES: &[&str] = &[
    "precio final",
    "precio fijo",
    "último precio",
    "te garantizo",
    "te aseguro que",
    "te hacemos descuento",
];

/// Every `RD$…` amount in `text`, as its digits ("RD$2,850,000" → "2850000").
pub fn rd_amounts(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("RD$") {
        rest = &rest[at + 3..];
        let rest_trimmed = rest.trim_start();
        let digits: String = rest_trimmed
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
            .filter(char::is_ascii_digit)
            .collect();
        if !digits.is_empty() {
            out.push(digits.trim_start_matches('0').to_string());
        }
    }
    out
}

/// Runs of digits in `text`, allowing single spaces or dashes between them,
/// with their separator-free digit strings.
fn digit_runs(text: &str) -> Vec<(String, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i;
        while end < chars.len()
            && (chars[end].is_ascii_digit()
                || ((chars[end] == '-' || chars[end] == ' ')
                    && end + 1 < chars.len()
                    && chars[end + 1].is_ascii_digit()
                    && end > start))
        {
            end += 1;
        }
        let raw: String = chars[start..end].iter().collect();
        let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
        runs.push((raw, digits));
        i = end;
    }
    runs
}

/// A cédula (`ddd-ddddddd-d`) or a card-like number (13 to 19 digits) in `text`.
pub fn personal_number(text: &str) -> Option<String> {
    digit_runs(text).into_iter().find_map(|(raw, digits)| {
        let parts: Vec<&str> = raw.split('-').collect();
        let cedula = parts.len() == 3
            && parts[0].len() == 3
            && parts[1].len() == 7
            && parts[2].len() == 1
            && !raw.contains(' ');
        let card = (13..=19).contains(&digits.len()) && !raw.contains(',');
        (cedula || card).then_some(raw)
    })
}

/// The first forbidden phrase in `text`, if any.
pub fn forbidden_phrase(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    FORBIDDEN_PHRASES
        .iter()
        .copied()
        .find(|p| lower.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_amounts_personal_numbers_and_phrases() {
        assert_eq!(
            rd_amounts("a RD$2,850,000 y RD$ 480,000."),
            vec!["2850000", "480000"]
        );
        assert!(rd_amounts("RD$ sin número").is_empty());
        assert_eq!(
            personal_number("mi cédula 402-1234567-8 ok").as_deref(),
            Some("402-1234567-8")
        );
        assert_eq!(
            personal_number("tarjeta 4111 1111 1111 1111").as_deref(),
            Some("4111 1111 1111 1111")
        );
        assert_eq!(
            personal_number("tarjeta 4111111111111111").as_deref(),
            Some("4111111111111111")
        );
        assert_eq!(
            personal_number("llama al 809-555-0142, RD$2,850,000, 12,000 km"),
            None
        );
        assert_eq!(
            forbidden_phrase("Ese es el Precio Final"),
            Some("precio final")
        );
        assert_eq!(forbidden_phrase("precio de referencia"), None);
    }
}
