//! The shipped Gemma candidate (models/gemma3-okla) answers like llama.cpp: Gemma 3 270M
//! Q4_K_M (the real file, scripts/setup/gemma.sh) with the shipped OKLA LoRA applied at
//! run time, on the first 20 test cases of suites/okla, greedy, the way the gate asks
//! them (Gemma 3 chat template, up to 256 new tokens), against llama.cpp
//! (llama-cpp-python 0.3.36, plain kernels, `lora_path` = the same adapter file).
//!
//! Asserted: our rendering and tokenizing give llama.cpp's prompt ids on every case;
//! our greedy answer equals llama.cpp's token for token, or the two part at a step
//! where llama.cpp's own top-1/top-2 logit margin is below [`NEAR_TIE`] (then the rest
//! of that answer is not compared: each continues its own text).
//!
//! Vectors: tests/data/engine/answers_gemma3_okla.json, made by
//! `scripts/reference/answers_reference.py models/gemma3-okla/gemma3-270m-q4_k_m.gguf
//! tests/data/engine/answers_gemma3_okla.json --lora
//! models/gemma3-okla/gemma3-okla-lora-f16.gguf --plain` (the recorded sha256s catch
//! another file).

mod common;

use std::path::Path;

use okla_engine::loader::load_with_lora;
use okla_engine::session::{GenerateOptions, Session, DEFAULT_SNAPSHOT_BUDGET};
use okla_text::chat::load_jsonl;
use serde_json::Value;

/// The shipped adapter.
const LORA: &str = "models/gemma3-okla/gemma3-okla-lora-f16.gguf";

/// The largest llama.cpp top-1/top-2 margin at which a differing greedy token counts as
/// a near-tie: the Gemma 3 parity test's logit tolerance.
const NEAR_TIE: f64 = common::GEMMA_LOGIT_TOLERANCE as f64;

#[test]
fn gemma3_okla_answers_the_first_20_test_cases_like_llama_cpp() {
    let Some(base) = common::gemma_q4_k_m() else {
        return;
    };
    let lora = Path::new(LORA);
    let vectors = "tests/data/engine/answers_gemma3_okla.json";
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(vectors).unwrap()).unwrap();
    assert_eq!(
        reference["model_sha256"].as_str(),
        Some(common::sha256_file(&base).as_str())
    );
    assert_eq!(
        reference["lora_sha256"].as_str(),
        Some(common::sha256_file(lora).as_str()),
        "the adapter changed: regenerate {vectors} (see this file's header)"
    );
    let loaded = load_with_lora(&base, Some(lora), 2).unwrap();
    let max_new = reference["max_new"].as_u64().unwrap() as usize;
    let options = GenerateOptions::greedy(max_new, loaded.stop_tokens());
    let mut session = Session::new(loaded.model.clone(), DEFAULT_SNAPSHOT_BUDGET);

    let conversations = load_jsonl(Path::new("suites/okla/okla_test.jsonl")).unwrap();
    let mut prompts = conversations.iter().enumerate().flat_map(|(line, c)| {
        c.assistant_turns()
            .enumerate()
            .map(move |(turn, at)| (format!("okla_test:{}:{turn}", line + 1), &c.messages[..at]))
    });
    let cases = reference["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 20);
    let (mut identical, mut tokens_compared) = (0, 0);
    for case in cases {
        let (id, messages) = prompts.next().unwrap();
        assert_eq!(case["id"].as_str(), Some(id.as_str()));
        let ids: Vec<u32> = serde_json::from_value(case["ids"].clone()).unwrap();
        assert_eq!(
            loaded.tokenizer.encode_chat(messages).unwrap(),
            ids,
            "{id}: prompt ids"
        );
        let theirs: Vec<u32> = serde_json::from_value(case["greedy"].clone()).unwrap();
        let margins: Vec<f64> = serde_json::from_value(case["margins"].clone()).unwrap();
        // llama.cpp's answer ends with its stop token; ours leaves it out.
        let ours = session.generate(&ids, &options, |_| {}).unwrap().tokens;
        let theirs_text = match theirs.last() {
            Some(last) if options.stop_tokens.contains(last) => &theirs[..theirs.len() - 1],
            _ => &theirs[..],
        };
        match ours.iter().zip(theirs_text).position(|(a, b)| a != b) {
            Some(step) => {
                tokens_compared += step;
                assert!(
                    margins[step] < NEAR_TIE,
                    "{id}: step {step}: ours {} vs llama.cpp {} where llama.cpp's margin is {:.3} (not a near-tie)",
                    ours[step],
                    theirs_text[step],
                    margins[step]
                );
            }
            None => {
                tokens_compared += ours.len().min(theirs_text.len());
                // Equal as far as both go: then both stopped at the same place, or
                // one stopped where the other's next token was the stop (a tie at the end).
                if ours.len() != theirs_text.len() {
                    let step = ours.len().min(theirs_text.len());
                    assert!(
                        margins[step] < NEAR_TIE,
                        "{id}: the answers end at {} and {} tokens; llama.cpp's margin at {step} is {:.3}",
                        ours.len(),
                        theirs_text.len(),
                        margins[step]
                    );
                } else {
                    identical += 1;
                }
            }
        }
    }
    eprintln!("{identical} of 20 answers identical to llama.cpp's; {tokens_compared} tokens equal before any near-tie");
}
