//! Constrained decoding on the native engine: under the schema grammar and OKLA's
//! production sampling, okla-tiny answers every case of the OKLA suite with one JSON
//! object the suite's schema accepts; a random model that writes anything unconstrained
//! writes the object a small schema forces; a schema llguidance refuses is an input
//! error naming its file.

mod common;

use std::path::Path;
use std::time::Instant;

use serde_json::{json, Value};

use okla_harness::backend::gguf::GgufBackend;
use okla_harness::backend::{Backend, Generation, Prompt};
use okla_harness::score::{FailureClass, Scorer};
use okla_harness::suite::{Decoding, Grammar, Message, Role, Suite};

const OKLA_TINY: &str = "models/okla-tiny/okla-tiny-q4_k_m.gguf";

fn generate(backend: &mut GgufBackend, messages: &[Message], decoding: &Decoding) -> Generation {
    let prompt = Prompt {
        case_id: "case",
        messages,
    };
    let mut out = backend
        .generate(&[prompt], decoding, &|_, _| Ok(()))
        .unwrap();
    out.remove(0)
}

#[test]
fn schema_grammar_answers_every_okla_case_with_a_valid_object() {
    let suite = Suite::load(Path::new("suites/okla")).unwrap();
    let schema_file = suite.dir.join(&suite.manifest.schema);
    let mut backend = GgufBackend::open(Path::new(OKLA_TINY), 2)
        .unwrap()
        .with_response_schema(suite.schema.clone(), &schema_file);
    let decoding = Decoding {
        max_new_tokens: suite.manifest.decoding.max_new_tokens,
        grammar: Grammar::Schema,
        ..Decoding::production()
    };
    let prompts: Vec<Prompt<'_>> = suite
        .cases
        .iter()
        .map(|c| Prompt {
            case_id: &c.id,
            messages: &c.prompt,
        })
        .collect();
    let start = Instant::now();
    let answers = backend
        .generate(&prompts, &decoding, &|_, _| Ok(()))
        .unwrap();
    let elapsed = start.elapsed();
    let scorer = Scorer::new(&suite).unwrap();
    for (case, answer) in suite.cases.iter().zip(&answers) {
        assert_eq!(answer.error, None, "{}", case.id);
        assert_eq!(answer.finish_reason.as_deref(), Some("stop"), "{}", case.id);
        let scored = scorer.score(case, answer);
        assert_eq!(
            scored.class,
            FailureClass::Valid,
            "{}: {}",
            case.id,
            answer.text
        );
        assert!(
            scored.schema_valid,
            "{}: {:?}\n{}",
            case.id, scored.schema_errors, answer.text
        );
    }
    let info = backend.info();
    let grammar = &info.details["grammar"];
    assert_eq!(grammar["mode"], "schema");
    assert_eq!(grammar["dead_ends"], 0);
    let tokens: u64 = answers
        .iter()
        .filter_map(|a| a.completion_tokens)
        .map(u64::from)
        .sum();
    // Every generated token and every answer's stop token was sampled under a mask.
    assert_eq!(
        grammar["tokens_masked"],
        json!(tokens + answers.len() as u64)
    );
    assert_eq!(
        grammar["schema_file"],
        json!(schema_file.display().to_string())
    );
    eprintln!(
        "{} cases, {tokens} tokens in {:.1} s; grammar: {grammar}",
        answers.len(),
        elapsed.as_secs_f64()
    );
}

/// A random model writes anything; a schema that leaves one intent to choose between two
/// makes it write exactly such an object, and stop.
#[test]
fn a_forcing_schema_turns_a_random_model_into_valid_json() {
    let schema = json!({
        "type": "object",
        "properties": {"intent": {"enum": ["Greeting", "Farewell"]}},
        "required": ["intent"],
        "additionalProperties": false
    });
    let mut backend = GgufBackend::open(&common::tiny_q4_k_m(), 2)
        .unwrap()
        .with_response_schema(schema, "intent.schema.json");
    let messages = [Message {
        role: Role::User,
        content: "klk, ¿cuánto cuesta la yipeta?".into(),
    }];
    let greedy = |grammar| Decoding {
        max_new_tokens: 80,
        grammar,
        ..Decoding::default()
    };
    let free = generate(&mut backend, &messages, &greedy(Grammar::None));
    assert!(
        serde_json::from_str::<Value>(&free.text).is_err(),
        "unconstrained, the random model writes no JSON: {:?}",
        free.text
    );
    assert!(backend.info().details.get("grammar").is_none());

    let forced = generate(&mut backend, &messages, &greedy(Grammar::Schema));
    assert_eq!(forced.finish_reason.as_deref(), Some("stop"), "{forced:?}");
    let value: Value = serde_json::from_str(&forced.text).unwrap();
    let intent = value["intent"].as_str().unwrap();
    assert!(["Greeting", "Farewell"].contains(&intent), "{value}");
    assert_eq!(value.as_object().unwrap().len(), 1, "{value}");
    let grammar = &backend.info().details["grammar"];
    assert_eq!(grammar["mode"], "schema");
    assert_eq!(grammar["schema_file"], "intent.schema.json");

    let object = generate(&mut backend, &messages, &greedy(Grammar::Json));
    assert!(object.text.starts_with('{'), "{object:?}");
    assert!(object.error.is_none(), "{object:?}");
}

#[test]
fn a_schema_llguidance_refuses_is_an_input_error_naming_its_file() {
    let schema = json!({"type": "object", "properties": {"date": {"type": "string", "format": "no-such-format"}}});
    let mut backend = GgufBackend::open(&common::tiny_q4_k_m(), 1)
        .unwrap()
        .with_response_schema(schema, "suites/x/response.schema.json");
    let prompt = Prompt {
        case_id: "case",
        messages: &[Message {
            role: Role::User,
            content: "hola".into(),
        }],
    };
    let decoding = Decoding {
        max_new_tokens: 4,
        grammar: Grammar::Schema,
        ..Decoding::default()
    };
    let err = backend
        .generate(&[prompt], &decoding, &|_, _| Ok(()))
        .unwrap_err();
    assert!(okla_formats::error::is_input_error(&err), "{err:#}");
    let message = format!("{err:#}");
    assert!(
        message.contains("suites/x/response.schema.json") && message.contains("no-such-format"),
        "{message}"
    );
    // Unconstrained answers do not need the schema compiled.
    let free = Decoding {
        grammar: Grammar::None,
        ..decoding
    };
    assert!(backend.generate(&[prompt], &free, &|_, _| Ok(())).is_ok());
}
