//! Our SentencePiece tokenizer gives llama.cpp's ids on the real Gemma 3 270M GGUF for
//! every distinct message of the okla suites and hand-picked edge cases, with special
//! tokens parsed and not, and detokenizes to llama.cpp's text (round-tripping wherever
//! llama.cpp's does). The reference is tests/data/text/gemma3_tokenize_vectors.json,
//! made by scripts/llama_cpp/tokenize_vs_llama.py. Skips with a printed reason when the
//! Gemma file is absent.

mod common;

use std::collections::{BTreeSet, HashMap};

use okla_formats::gguf::GgufFile;
use okla_text::gguf_tokenizer::GgufTokenizer;
use okla_text::spm::SpmTokenizer;
use serde_json::Value;
use sha2::{Digest, Sha256};

const SUITES: [&str; 2] = ["suites/okla/okla_test.jsonl", "suites/okla/okla_eval.jsonl"];

/// The first 16 hex digits of a sha256.
fn short_sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn ids_sha(ids: &[u32]) -> String {
    let joined: Vec<String> = ids.iter().map(u32::to_string).collect();
    short_sha(joined.join(",").as_bytes())
}

/// Every message content of the suites, by short sha256.
fn suite_texts() -> HashMap<String, String> {
    let mut texts = HashMap::new();
    for path in SUITES {
        let body = std::fs::read_to_string(path).unwrap();
        for line in body.lines().filter(|l| !l.trim().is_empty()) {
            let case: Value = serde_json::from_str(line).unwrap();
            for message in case["messages"].as_array().unwrap() {
                let text = message["content"].as_str().unwrap().to_string();
                texts.insert(short_sha(text.as_bytes()), text);
            }
        }
    }
    texts
}

/// Differences between our ids and a reference written as `{prefix}n`,
/// `{prefix}ids_sha` and, for short texts, `{prefix}ids`.
fn ids_differ(case: &Value, prefix: &str, ours: &[u32]) -> Option<String> {
    let n = case[format!("{prefix}n")].as_u64().unwrap() as usize;
    let sha = case[format!("{prefix}ids_sha")].as_str().unwrap();
    if ours.len() == n && ids_sha(ours) == sha {
        return None;
    }
    let theirs = match case.get(format!("{prefix}ids")) {
        Some(ids) => ids.to_string(),
        None => format!("{n} ids with sha {sha}"),
    };
    Some(format!("{prefix}ids: ours {ours:?}, llama.cpp {theirs}"))
}

#[test]
fn gemma_ids_and_text_match_llama_cpp() {
    let Some(path) = common::gemma_q4_k_m() else {
        return;
    };
    let file = GgufFile::open(&path).unwrap();
    let GgufTokenizer::Spm(tokenizer) = GgufTokenizer::from_metadata(file.metadata()).unwrap()
    else {
        panic!("Gemma 3 must get the SentencePiece tokenizer");
    };
    assert!(!tokenizer.vocab().flags().add_space_prefix);
    let vectors: Value =
        serde_json::from_str(include_str!("data/text/gemma3_tokenize_vectors.json")).unwrap();
    let cases = vectors["cases"].as_array().unwrap();
    let suite = suite_texts();

    let mut compared = BTreeSet::new();
    let mut failures = Vec::new();
    let mut round_trips = 0;
    for case in cases {
        let sha = case["sha"].as_str().unwrap();
        let text = match case.get("text") {
            Some(t) => t.as_str().unwrap(),
            None => suite
                .get(sha)
                .unwrap_or_else(|| panic!("no suite text has sha {sha}: regenerate the vectors")),
        };
        compared.insert(sha.to_string());
        failures.extend(check(&tokenizer, case, text));
        round_trips += usize::from(case["round_trips"].as_bool().unwrap());
    }
    let missing: Vec<&String> = suite.keys().filter(|s| !compared.contains(*s)).collect();
    assert!(
        missing.is_empty(),
        "suite texts without reference ids: {missing:?}"
    );
    assert!(
        failures.is_empty(),
        "{} of {} texts differ from llama.cpp:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    println!(
        "{} texts ({} suite messages): ids identical to llama.cpp with and without special \
         tokens; {round_trips} round-trip as in llama.cpp",
        cases.len(),
        suite.len()
    );
}

/// What differs from llama.cpp for one text.
fn check(tokenizer: &SpmTokenizer, case: &Value, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let ids = tokenizer.tokenize(text, true, true);
    problems.extend(ids_differ(case, "", &ids));
    let plain = tokenizer.tokenize(text, true, false);
    let plain_prefix = if case.get("plain_n").is_some() {
        "plain_"
    } else {
        ""
    };
    problems.extend(ids_differ(case, plain_prefix, &plain));
    let detok = tokenizer.detokenize(&ids, true, true).unwrap();
    if short_sha(&detok) != case["detok_sha"].as_str().unwrap() {
        problems.push(format!(
            "detokenized: {:?}",
            String::from_utf8_lossy(&detok)
        ));
    }
    if case["round_trips"].as_bool().unwrap() && detok != text.as_bytes() {
        problems.push("does not round-trip".into());
    }
    problems
        .into_iter()
        .map(|p| format!("{text:?}: {p}"))
        .collect()
}
