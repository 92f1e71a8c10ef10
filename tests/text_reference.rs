//! The Llama 3 chat template and tokenizer against reference vectors made by
//! `scripts/reference/text_reference_vectors.py` (jinja2 with the real `chat_template`, Python
//! `tokenizers`): rendered text, token ids and assistant label spans must be equal.

use std::sync::OnceLock;

use okla_harness::suite::{Message, Role};
use okla_text::{is_python_space, jinja_trim, ChatTokenizer};
use serde::Deserialize;
use sha2::{Digest, Sha256};

#[derive(Deserialize)]
struct Vectors {
    tokenizer_json_sha256: String,
    python_isspace: Vec<u32>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    messages: Vec<Message>,
    text: String,
    ids: Vec<u32>,
    assistant_spans: Vec<[usize; 2]>,
}

fn vectors() -> Vectors {
    let text = include_str!("data/text/chat_template_vectors.json");
    serde_json::from_str(text).expect("reference vectors parse")
}

fn llama3() -> &'static ChatTokenizer {
    static TOKENIZER: OnceLock<ChatTokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| ChatTokenizer::llama3().expect("bundled tokenizer loads"))
}

#[test]
fn vectors_were_made_from_the_bundled_tokenizer() {
    let bundled = std::fs::read("models/llama3/tokenizer.json").unwrap();
    let sha: String = Sha256::digest(&bundled)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sha, vectors().tokenizer_json_sha256);
}

#[test]
fn rendered_text_matches_jinja() {
    let v = vectors();
    assert!(v.cases.len() >= 12);
    for case in &v.cases {
        let rendered = llama3().render(&case.messages).unwrap();
        assert_eq!(rendered.text, case.text, "case {}", case.name);
    }
}

#[test]
fn token_ids_match_python_tokenizers() {
    for case in &vectors().cases {
        let ids = llama3().encode_chat(&case.messages).unwrap();
        assert_eq!(ids, case.ids, "case {}", case.name);
        assert_eq!(
            llama3().count_chat_tokens(&case.messages).unwrap(),
            case.ids.len(),
            "case {}",
            case.name
        );
    }
}

#[test]
fn assistant_spans_match_the_header_structure() {
    let eot = llama3().token_id("<|eot_id|>").unwrap();
    for case in &vectors().cases {
        let enc = llama3()
            .encode_chat_with_assistant_mask(&case.messages)
            .unwrap();
        assert_eq!(enc.ids, case.ids, "case {}", case.name);
        let spans: Vec<[usize; 2]> = enc
            .assistant_spans
            .iter()
            .map(|r| [r.start, r.end])
            .collect();
        assert_eq!(spans, case.assistant_spans, "case {}", case.name);
        let assistants: Vec<&Message> = case
            .messages
            .iter()
            .filter(|m| m.role == Role::Assistant)
            .collect();
        assert_eq!(spans.len(), assistants.len(), "case {}", case.name);
        for (span, message) in enc.assistant_spans.iter().zip(assistants) {
            assert_eq!(enc.ids[span.end - 1], eot, "case {}", case.name);
            let decoded = llama3().decode(&enc.ids[span.clone()]).unwrap();
            assert_eq!(
                decoded,
                format!("{}<|eot_id|>", jinja_trim(&message.content))
            );
        }
        let mask = enc.assistant_mask();
        let labelled = mask.iter().filter(|&&m| m).count();
        let spanned: usize = enc.assistant_spans.iter().map(|s| s.len()).sum();
        assert_eq!(labelled, spanned, "case {}", case.name);
    }
}

#[test]
fn trim_strips_exactly_what_python_isspace_accepts() {
    let python: std::collections::BTreeSet<u32> = vectors().python_isspace.into_iter().collect();
    for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
        assert_eq!(
            is_python_space(c),
            python.contains(&(c as u32)),
            "U+{:04X}",
            c as u32
        );
    }
}

#[test]
fn loads_from_a_folder_and_names_missing_files() {
    let from_dir = ChatTokenizer::from_dir(std::path::Path::new("models/llama3")).unwrap();
    let messages = &vectors().cases[0].messages;
    assert_eq!(
        from_dir.encode_chat(messages).unwrap(),
        llama3().encode_chat(messages).unwrap()
    );
    let err = ChatTokenizer::from_dir(std::path::Path::new("no/such/dir")).unwrap_err();
    assert!(okla_formats::error::is_input_error(&err));
    assert!(
        err.to_string().contains("no/such/dir/tokenizer.json"),
        "{err}"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// For any contents, assistant spans cover exactly the trimmed content plus
    /// `<|eot_id|>`, and counting agrees with encoding.
    #[test]
    fn assistant_spans_hold_for_any_content(
        contents in proptest::collection::vec(
            "([ \\t\\n\\r\u{a0}\u{1c}\u{3000}]|[a-zñáé]{1,6}|[0-9]{1,5}|[🚗😍👍🏽]|[{}\":,]|<\\|eot_id\\|>|'s){0,12}",
            1..6,
        )
    ) {
        let messages: Vec<Message> = contents
            .iter()
            .enumerate()
            .map(|(i, c)| Message::new(if i % 2 == 0 { Role::User } else { Role::Assistant }, c.clone()))
            .collect();
        let enc = llama3().encode_chat_with_assistant_mask(&messages).unwrap();
        proptest::prop_assert_eq!(enc.ids.len(), llama3().count_chat_tokens(&messages).unwrap());
        let assistants = messages.iter().filter(|m| m.role == Role::Assistant);
        for (span, message) in enc.assistant_spans.iter().zip(assistants) {
            let decoded = llama3().decode(&enc.ids[span.clone()]).unwrap();
            proptest::prop_assert_eq!(decoded, format!("{}<|eot_id|>", jinja_trim(&message.content)));
        }
    }
}
