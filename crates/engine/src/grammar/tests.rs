//! The token environment on a small byte-level vocabulary, and masks over it.

use std::sync::Arc;

use serde_json::json;

use super::masking::{Ahead, Inline, Masking};
use super::{token_bytes, Constrained, Constraint, GrammarVocab};
use crate::kernels::Isa;
use crate::sampler::SamplingParams;
use crate::session::{FinishReason, GenerateOptions, Session};
use crate::tiny::TinySpec;
use okla_text::gguf_vocab::{GgufVocab, TOKEN_TYPE_CONTROL, TOKEN_TYPE_NORMAL};

/// The byte-level text of `bytes` (GPT-2's alphabet), as a vocabulary stores it.
fn byte_level(bytes: &[u8]) -> String {
    let printable = |b: u8| matches!(b, 0x21..=0x7e | 0xa1..=0xac | 0xae..=0xff);
    bytes
        .iter()
        .map(|&b| {
            if printable(b) {
                char::from(b)
            } else {
                let rank = (0..b).filter(|&x| !printable(x)).count() as u32;
                char::from_u32(0x100 + rank).unwrap()
            }
        })
        .collect()
}

/// A 300-token vocabulary: the 256 bytes, a few multi-byte pieces of JSON, three control
/// tokens (`<|eot_id|>` = 297 is the stop token), padded with more pieces.
fn vocab() -> GgufVocab {
    let mut tokens: Vec<String> = (0..=255u8).map(|b| byte_level(&[b])).collect();
    for piece in [
        "{\"", "\":", "\",\"", "\"}", " \"", "intent", "Greeting", "Farewell", "ok", " ñ", "\n\n",
        "true", "false", "null", "}\n", "0.", "\":\"",
    ] {
        tokens.push(byte_level(piece.as_bytes()));
    }
    while tokens.len() < 296 {
        tokens.push(byte_level(format!("w{}", tokens.len()).as_bytes()));
    }
    let mut token_types = vec![TOKEN_TYPE_NORMAL; tokens.len()];
    for name in [
        "<|begin_of_text|>",
        "<|eot_id|>",
        "<|end_of_text|>",
        "<|x|>",
    ] {
        tokens.push(name.into());
        token_types.push(TOKEN_TYPE_CONTROL);
    }
    GgufVocab {
        model: "gpt2".into(),
        pre: "llama-bpe".into(),
        tokens,
        token_types,
        merges: vec![],
        bos: Some(296),
        eos: Some(297),
    }
}

const EOT: u32 = 297;

fn id(v: &GgufVocab, piece: &str) -> u32 {
    let text = byte_level(piece.as_bytes());
    v.tokens.iter().position(|t| *t == text).unwrap() as u32
}

fn grammar_vocab() -> GrammarVocab {
    GrammarVocab::new(token_bytes(&vocab()).unwrap(), &[EOT, 298], 300).unwrap()
}

/// Commits the tokens of `pieces` in order.
fn after(c: &mut Constraint, v: &GgufVocab, pieces: &[&str]) {
    for p in pieces {
        c.mask().unwrap();
        c.commit(id(v, p)).unwrap();
    }
}

#[test]
fn byte_level_tokens_become_their_bytes_and_control_tokens_special() {
    let v = vocab();
    let bytes = token_bytes(&v).unwrap();
    assert_eq!(bytes.len(), 300);
    assert_eq!(bytes[usize::from(b' ')], b" ");
    assert_eq!(bytes[usize::from(b'\n')], b"\n");
    assert_eq!(bytes[0xad], [0xad]);
    assert_eq!(bytes[id(&v, " ñ") as usize], " ñ".as_bytes());
    assert_eq!(bytes[id(&v, "\n\n") as usize], b"\n\n");
    assert_eq!(bytes[EOT as usize], b"\xff<|eot_id|>");
}

#[test]
fn vocabularies_grammars_cannot_read_are_refused() {
    let mut v = vocab();
    v.tokens[300 - 5] = "wń".into();
    let err = token_bytes(&v).unwrap_err().to_string();
    assert!(err.contains("token 295") && err.contains("'ń'"), "{err}");
    let sentencepiece = GgufVocab {
        model: "llama".into(),
        ..vocab()
    };
    assert!(token_bytes(&sentencepiece).is_err());
    let words = || token_bytes(&vocab()).unwrap();
    assert!(GrammarVocab::new(words(), &[], 300).is_err());
    assert!(GrammarVocab::new(words(), &[EOT], 299).is_err());
}

#[test]
fn special_tokens_are_never_allowed_inside_json_and_stop_only_after_it() {
    let v = vocab();
    let grammar = grammar_vocab().compile_any_object().unwrap();
    let mut c = grammar.start();
    let first = c.mask().unwrap();
    assert!(first.allows(u32::from(b'{')) && first.allows(id(&v, "{\"")));
    assert!(!first.allows(u32::from(b'[')) && !first.allows(u32::from(b'a')));
    for special in 296..300 {
        assert!(!first.allows(special), "token {special} at the start");
    }
    after(&mut c, &v, &["{\"", "ok", "\":\""]);
    let in_string = c.mask().unwrap();
    assert!(in_string.allows(u32::from(b'a')) && in_string.allows(id(&v, " ñ")));
    assert!(
        !in_string.allows(u32::from(b'\n')),
        "raw newline inside a string"
    );
    for special in 296..300 {
        assert!(
            !in_string.allows(special),
            "token {special} inside a string"
        );
    }
    after(&mut c, &v, &["\"}"]);
    let closed = c.mask().unwrap();
    assert_eq!(closed.count(), 2, "only the stop tokens: {closed:?}");
    assert!(closed.allows(EOT) && closed.allows(298));
}

#[test]
fn a_schema_restricts_values_to_what_it_allows() {
    let v = vocab();
    let schema = json!({
        "type": "object",
        "properties": {"intent": {"enum": ["Greeting", "Farewell"]}},
        "required": ["intent"],
        "additionalProperties": false
    });
    let grammar = grammar_vocab().compile_schema(&schema).unwrap();
    assert!(grammar.warnings().is_empty(), "{:?}", grammar.warnings());
    let mut c = grammar.start();
    after(&mut c, &v, &["{\"", "intent", "\":\""]);
    let value = c.mask().unwrap();
    assert!(value.allows(id(&v, "Greeting")) && value.allows(id(&v, "Farewell")));
    assert!(!value.allows(id(&v, "ok")) && !value.allows(u32::from(b'"')));
    after(&mut c, &v, &["Farewell", "\"}"]);
    assert_eq!(c.mask().unwrap().count(), 2);
}

#[test]
fn bounded_whitespace_between_tokens() {
    let v = vocab();
    let grammar = grammar_vocab().compile_any_object().unwrap();
    let mut c = grammar.start();
    after(&mut c, &v, &["{", "\n\n"]);
    let indented = c.mask().unwrap();
    assert!(indented.allows(u32::from(b' ')) && indented.allows(u32::from(b'"')));
    assert!(!indented.allows(u32::from(b'\n')), "a third newline");
}

#[test]
fn schemas_llguidance_refuses_are_errors() {
    let vocab = grammar_vocab();
    let err = vocab
        .compile_schema(&json!({"type": "string", "format": "no-such-format"}))
        .unwrap_err();
    assert!(format!("{err:#}").contains("no-such-format"), "{err:#}");
    assert!(vocab.compile_schema(&json!(true)).is_err());
}

#[test]
fn masks_set_disallowed_logits_to_minus_infinity() {
    let v = vocab();
    let grammar = grammar_vocab().compile_any_object().unwrap();
    let mask = grammar.start().mask().unwrap();
    let mut logits = vec![1.0f32; 301];
    mask.apply(&mut logits);
    let kept: Vec<usize> = (0..301).filter(|&i| logits[i] == 1.0).collect();
    assert_eq!(kept.len(), mask.count());
    assert!(kept.contains(&usize::from(b'{')) && kept.contains(&(id(&v, "{\"") as usize)));
    assert!(logits[usize::from(b'a')].is_infinite() && logits[300].is_infinite());
}

/// A token the grammar refuses ends the answer as a dead end with its reason, inline or
/// ahead, and never panics.
#[test]
fn a_refused_token_is_a_dead_end_not_a_panic() {
    let grammar = grammar_vocab().compile_any_object().unwrap();
    let check = |mut masking: Masking<'_>| {
        let mut logits = vec![0.0f32; 300];
        assert!(masking.restrict(&mut logits));
        masking.advance(u32::from(b'x'));
        assert!(!masking.restrict(&mut logits));
        let trace = masking.into_trace();
        assert_eq!(trace.compute.len(), 2);
        let why = trace.dead_end.unwrap();
        assert!(why.starts_with("token 120"), "{why}");
    };
    check(Masking::new(Inline::new(grammar.start())));
    std::thread::scope(|scope| check(Masking::new(Ahead::spawn(scope, grammar.start()))));
}

fn constrained(overlap: bool) -> GenerateOptions {
    let grammar = grammar_vocab().compile_any_object().unwrap();
    GenerateOptions {
        max_new_tokens: 48,
        stop_tokens: vec![EOT, 298],
        sampling: SamplingParams {
            temperature: 0.8,
            top_p: 0.95,
            repetition_penalty: 1.1,
            seed: 3,
        },
        stream: 0,
        constraint: Some(Constrained {
            grammar: Arc::new(grammar),
            overlap,
        }),
    }
}

/// A random model under the grammar writes a prefix of one JSON object (the whole object
/// when it stops), and computing masks during the forward pass changes nothing.
#[test]
fn constrained_generation_writes_json_with_or_without_overlap() {
    let spec = TinySpec {
        vocab: 300,
        ..TinySpec::default()
    };
    let model = Arc::new(spec.build_f32(2, Isa::detect()).unwrap());
    let bytes = token_bytes(&vocab()).unwrap();
    let run = |overlap, stream| {
        let mut opts = constrained(overlap);
        opts.stream = stream;
        Session::new(model.clone(), 0)
            .generate(&[296, 5, 6], &opts, |_| {})
            .unwrap()
    };
    let mut stopped = 0;
    for stream in 0..6 {
        let (plain, ahead) = (run(false, stream), run(true, stream));
        assert_eq!(plain.tokens, ahead.tokens);
        assert_eq!(plain.finish, ahead.finish);
        let trace = ahead.grammar.as_ref().unwrap();
        assert_eq!(trace.compute.len(), trace.wait.len());
        let stop_step = usize::from(ahead.finish == FinishReason::Stop);
        assert_eq!(trace.compute.len(), ahead.tokens.len() + stop_step);
        let text: Vec<u8> = plain
            .tokens
            .iter()
            .flat_map(|&t| bytes[t as usize].clone())
            .collect();
        assert_eq!(text.first(), Some(&b'{'));
        if plain.finish == FinishReason::Stop {
            stopped += 1;
            let value: serde_json::Value = serde_json::from_slice(&text).unwrap();
            assert!(value.is_object(), "{value}");
        }
    }
    assert!(
        stopped > 0,
        "some answer closes its object within 48 tokens"
    );
}
