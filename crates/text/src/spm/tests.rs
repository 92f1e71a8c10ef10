//! A hand-made vocabulary whose scores make merge order matter.

use super::*;

const UNK: u32 = 0;
const BOS: u32 = 1;
const BYTE_C3: u32 = 3;
const BYTE_A9: u32 = 4;
const SPACE: u32 = 5;
const A: u32 = 6;
const B: u32 = 7;
const C: u32 = 8;
const X: u32 = 9;
const AB: u32 = 10;
const BC: u32 = 11;
const SPACE_A: u32 = 12;
const CTL: u32 = 13;
const NEWLINES: u32 = 14;
const XX: u32 = 15;

fn tokenizer() -> SpmTokenizer {
    build(SpmFlags::default())
}

fn build(flags: SpmFlags) -> SpmTokenizer {
    let table: &[(&str, f32, i32)] = &[
        ("<unk>", 0.0, 2),
        ("<s>", 0.0, 3),
        ("</s>", 0.0, 3),
        ("<0xC3>", 0.0, 6),
        ("<0xA9>", 0.0, 6),
        ("\u{2581}", -2.0, 1),
        ("a", -3.0, 1),
        ("b", -3.0, 1),
        ("c", -3.0, 1),
        ("x", -3.0, 1),
        ("ab", -1.0, 1),
        ("bc", -0.5, 1),
        ("\u{2581}a", -0.8, 1),
        ("<ctl>", 0.0, 3),
        ("\n\n", 0.0, 4),
        ("xx", -1.0, 1),
    ];
    let vocab = SpmVocab::new(
        table.iter().map(|t| t.0.to_string()).collect(),
        table.iter().map(|t| t.1).collect(),
        table.iter().map(|t| t.2).collect(),
        SpecialIds {
            bos: BOS,
            eos: 2,
            unk: UNK,
        },
        flags,
    )
    .unwrap();
    SpmTokenizer::new(vocab)
}

fn ids(text: &str) -> Vec<u32> {
    let flags = SpmFlags {
        add_space_prefix: false,
        ..SpmFlags::default()
    };
    build(flags).tokenize(text, false, false)
}

#[test]
fn the_highest_scoring_pair_merges_first() {
    // "bc" (-0.5) beats "ab" (-1.0): a left-to-right merge would give [ab, c].
    assert_eq!(ids("abc"), vec![A, BC]);
    assert_eq!(ids("ab"), vec![AB]);
}

#[test]
fn equal_scores_merge_the_leftmost_pair() {
    assert_eq!(ids("xxx"), vec![XX, X]);
    assert_eq!(ids("xxxx"), vec![XX, XX]);
}

#[test]
fn missing_characters_fall_back_to_bytes_then_unknown() {
    assert_eq!(ids("é"), vec![BYTE_C3, BYTE_A9]);
    // No piece and no <0x7A> byte token for 'z': one unknown token for the character.
    assert_eq!(ids("azb"), vec![A, UNK, B]);
}

#[test]
fn bos_and_space_prefix_follow_the_flags() {
    let t = tokenizer();
    assert_eq!(t.tokenize("a b", true, false), vec![BOS, SPACE_A, SPACE, B]);
    assert_eq!(t.tokenize("", true, false), vec![BOS]);
    assert_eq!(t.tokenize("", false, false), Vec::<u32>::new());
}

#[test]
fn control_tokens_match_only_when_parsing_special_tokens() {
    let t = tokenizer();
    // After a special token the next text gets the space prefix again.
    assert_eq!(
        t.tokenize("a<ctl>a", false, true),
        vec![SPACE_A, CTL, SPACE_A]
    );
    assert_eq!(
        t.tokenize("a<ctl>a", false, false),
        vec![SPACE_A, UNK, C, UNK, UNK, UNK, A]
    );
}

#[test]
fn user_defined_tokens_always_match() {
    let t = tokenizer();
    assert_eq!(
        t.tokenize("a\n\nb", false, false),
        vec![SPACE_A, NEWLINES, SPACE, B]
    );
}

#[test]
fn detokenize_inverts_tokenize() {
    let t = tokenizer();
    let text = |ids: &[u32], remove: bool, unparse: bool| {
        String::from_utf8(t.detokenize(ids, remove, unparse).unwrap()).unwrap()
    };
    // The prefix space is removed from the first piece.
    assert_eq!(text(&[SPACE_A, SPACE, B], false, false), "a b");
    assert_eq!(text(&[BYTE_C3, BYTE_A9, NEWLINES], false, false), "é\n\n");
    assert_eq!(text(&[SPACE_A, CTL, SPACE_A], false, false), "a a");
    assert_eq!(text(&[SPACE_A, CTL, SPACE_A], false, true), "a<ctl> a");
    // llama.cpp keeps the prefix space when it drops a leading BOS.
    assert_eq!(text(&[BOS, SPACE_A], true, false), " a");
    assert_eq!(text(&[BOS, SPACE_A], false, true), "<s> a");
    assert!(t.detokenize(&[99], false, false).is_err());
}
