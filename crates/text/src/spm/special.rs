//! Splitting text at special tokens written in it, as llama.cpp's
//! `tokenizer_st_partition`: longest special token first, each one cut out of every
//! remaining text fragment at all its non-overlapping occurrences, left to right.

/// A piece of the input: text still to tokenize, or a special token already matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fragment<'a> {
    /// Raw text.
    Text(&'a str),
    /// A special token's id.
    Token(u32),
}

/// Split `text` at the `specials` (id and exact text), which must be in matching
/// order (longest first).
pub(super) fn partition<'a>(text: &'a str, specials: &[(u32, &str)]) -> Vec<Fragment<'a>> {
    let mut fragments = if text.is_empty() {
        Vec::new()
    } else {
        vec![Fragment::Text(text)]
    };
    for &(id, special) in specials {
        let occurs = fragments
            .iter()
            .any(|f| matches!(f, Fragment::Text(t) if t.contains(special)));
        if !occurs {
            continue;
        }
        let mut split = Vec::with_capacity(fragments.len() + 2);
        for fragment in fragments {
            let Fragment::Text(mut rest) = fragment else {
                split.push(fragment);
                continue;
            };
            while let Some(at) = rest.find(special) {
                if at > 0 {
                    split.push(Fragment::Text(&rest[..at]));
                }
                split.push(Fragment::Token(id));
                rest = &rest[at + special.len()..];
            }
            if !rest.is_empty() {
                split.push(Fragment::Text(rest));
            }
        }
        fragments = split;
    }
    fragments
}

#[cfg(test)]
mod tests {
    use super::*;
    use Fragment::{Text, Token};

    #[test]
    fn longer_specials_win_and_all_occurrences_are_cut() {
        let specials = [(2, "\n\n"), (1, "\n"), (3, "<t>")];
        assert_eq!(
            partition("a\n\n\nb<t>c<t>", &specials),
            vec![
                Text("a"),
                Token(2),
                Token(1),
                Text("b"),
                Token(3),
                Text("c"),
                Token(3)
            ]
        );
        assert_eq!(partition("", &specials), vec![]);
        assert_eq!(partition("plain", &specials), vec![Text("plain")]);
    }
}
