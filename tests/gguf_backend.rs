//! The `gguf` backend end to end on the tiny GGUF: deterministic answers that do not
//! depend on prompt order, prefix reuse across prompts, teacher-forced loss.

mod common;

use okla_harness::backend::gguf::GgufBackend;
use okla_harness::backend::{Backend, Prompt};
use okla_harness::suite::{Conversation, Decoding, Message, Role};

fn msg(role: Role, content: &str) -> Message {
    Message {
        role,
        content: content.into(),
    }
}

fn conversations() -> Vec<Vec<Message>> {
    let system = msg(
        Role::System,
        "Eres el asistente de OKLA. VEHÍCULO EN CONTEXTO: Toyota RAV4 2021, RD$2,850,000. Responde en JSON.",
    );
    vec![
        vec![system.clone(), msg(Role::User, "klk, ¿cuánto cuesta?")],
        vec![system.clone(), msg(Role::User, "¿Tienen financiamiento?")],
        vec![
            system,
            msg(Role::User, "klk, ¿cuánto cuesta?"),
            msg(Role::Assistant, "{\"response\":\"RD$2,850,000\",\"intent\":\"VehiclePrice\",\"confidence\":0.9,\"isFallback\":false}"),
            msg(Role::User, "¿Y el inicial?"),
        ],
    ]
}

fn decoding(max_new_tokens: u32) -> Decoding {
    Decoding {
        max_new_tokens,
        ..Decoding::default()
    }
}

#[test]
fn answers_are_deterministic_order_independent_and_reuse_prefixes() {
    let convs = conversations();
    let ids = ["a", "b", "c"];
    let prompts: Vec<Prompt<'_>> = convs
        .iter()
        .zip(ids)
        .map(|(m, id)| Prompt {
            case_id: id,
            messages: m,
        })
        .collect();
    let mut backend = GgufBackend::open(&common::tiny_q4_k_m(), 2).unwrap();
    let first = backend
        .generate(&prompts, &decoding(12), &|_, _| Ok(()))
        .unwrap();
    for g in &first {
        assert!(g.error.is_none(), "{g:?}");
        assert!(g.completion_tokens.unwrap() <= 12);
        assert!(matches!(
            g.finish_reason.as_deref(),
            Some("stop" | "length")
        ));
    }
    let info = backend.info();
    assert_eq!(info.kind, "gguf");
    assert_eq!(info.model_sha256.as_ref().unwrap().len(), 64);
    let hit_rate = info.details["prefix_cache"]["hit_rate"].as_f64().unwrap();
    // The tiny model runs each conversation (prompts sharing their first two
    // messages: "a" and "c") in a session of its own: "c" reuses "a"'s prompt.
    assert!(
        hit_rate > 0.2,
        "a conversation's later turn reuses its earlier prompt: {hit_rate}"
    );

    let mut fresh = GgufBackend::open(&common::tiny_q4_k_m(), 1).unwrap();
    let reversed: Vec<Prompt<'_>> = prompts.iter().rev().copied().collect();
    let second = fresh
        .generate(&reversed, &decoding(12), &|_, _| Ok(()))
        .unwrap();
    let texts = |gs: &[okla_harness::backend::Generation]| {
        gs.iter().map(|g| g.text.clone()).collect::<Vec<_>>()
    };
    let mut expected = texts(&first);
    expected.reverse();
    assert_eq!(
        texts(&second),
        expected,
        "same answers whatever the order and thread count"
    );
}

#[test]
fn sampled_decoding_is_seeded() {
    let convs = conversations();
    let prompts = [Prompt {
        case_id: "a",
        messages: &convs[0],
    }];
    let production = Decoding {
        max_new_tokens: 10,
        ..Decoding::production()
    };
    let mut backend = GgufBackend::open(&common::tiny_q4_k_m(), 2).unwrap();
    let a = backend
        .generate(&prompts, &production, &|_, _| Ok(()))
        .unwrap();
    let b = backend
        .generate(&prompts, &production, &|_, _| Ok(()))
        .unwrap();
    assert_eq!(a[0].text, b[0].text);
    let other_seed = Decoding {
        seed: 7,
        ..production
    };
    let c = backend
        .generate(&prompts, &other_seed, &|_, _| Ok(()))
        .unwrap();
    assert_ne!(a[0].text, c[0].text, "a different seed samples differently");
}

#[test]
fn eval_loss_scores_assistant_tokens() {
    let convs: Vec<Conversation> = conversations()
        .into_iter()
        .map(|messages| Conversation { messages, line: 0 })
        .collect();
    let mut backend = GgufBackend::open(&common::tiny_q4_k_m(), 2).unwrap();
    let loss = backend
        .eval_loss(&convs, &okla_formats::progress::NoProgress)
        .unwrap()
        .unwrap();
    // Only the third conversation has an assistant turn: its content and <|eot_id|>.
    assert!(loss.tokens > 10 && loss.tokens < 60, "{loss:?}");
    // A random model over 128k tokens: loss near ln(128256) ≈ 11.8, far above 0.
    assert!(loss.mean_nll > 3.0 && loss.mean_nll.is_finite(), "{loss:?}");
}

/// `okla-eval gate` on the native engine, run twice: the same exit code and
/// byte-identical `predictions.jsonl` (timings go to `timings.csv`, not there).
#[test]
fn gate_reruns_give_byte_identical_predictions() {
    let model = common::tiny_q4_k_m();
    let out = tempfile::tempdir().unwrap();
    let gate = |run: &std::path::Path| {
        assert_cmd::Command::cargo_bin("okla-eval")
            .unwrap()
            .args(["gate", "--suite", "tests/fixtures/mini", "--model"])
            .arg(&model)
            .args(["--max-new-tokens", "12", "--threads", "2", "--run-dir"])
            .arg(run)
            .assert()
            .code(1); // random weights: the gate fails, deterministically
    };
    let (a, b) = (out.path().join("a"), out.path().join("b"));
    gate(&a);
    gate(&b);
    let read = |dir: &std::path::Path, f: &str| std::fs::read(dir.join(f)).unwrap();
    assert_eq!(read(&a, "predictions.jsonl"), read(&b, "predictions.jsonl"));
    assert!(a.join("timings.csv").is_file());
    let report = okla_harness::report::read_report(&a).unwrap();
    assert_eq!(report.meta.backend.kind, "gguf");
    assert!(
        report.summary.value("eval_loss").is_none(),
        "the mini suite has no eval split"
    );
}

/// The larger models' schedule (every prompt in one session, several answers decoded at
/// once) answers as each conversation in a session of its own does, unconstrained and
/// under a grammar, and its prompts reuse the prefixes they share.
#[test]
fn decoding_in_slots_answers_like_conversations_apart() {
    use okla_harness::backend::gguf::Schedule;
    use okla_harness::suite::Grammar;
    let convs = conversations();
    let prompts: Vec<Prompt<'_>> = convs
        .iter()
        .zip(["a", "b", "c"])
        .map(|(m, id)| Prompt {
            case_id: id,
            messages: m,
        })
        .collect();
    let schema = serde_json::json!({
        "type": "object",
        "properties": {"intent": {"enum": ["VehiclePrice", "Financing"]}},
        "required": ["intent"],
        "additionalProperties": false
    });
    let open = |schedule| {
        GgufBackend::open(&common::tiny_q4_k_m(), 2)
            .unwrap()
            .with_response_schema(schema.clone(), "intent.schema.json")
            .with_schedule(schedule)
    };
    for (grammar, max_new_tokens) in [(Grammar::None, 16), (Grammar::Schema, 80)] {
        let decoding = Decoding {
            grammar,
            ..decoding(max_new_tokens)
        };
        let mut answers = Vec::new();
        for schedule in [Schedule::Conversations, Schedule::Slots(2)] {
            let mut backend = open(schedule);
            let got = backend
                .generate(&prompts, &decoding, &|_, _| Ok(()))
                .unwrap();
            assert!(got.iter().all(|g| g.error.is_none()), "{got:?}");
            let info = backend.info();
            let hit_rate = info.details["prefix_cache"]["hit_rate"].as_f64().unwrap();
            assert!(hit_rate > 0.2, "{schedule:?}: {hit_rate}");
            let expected = match schedule {
                Schedule::Conversations => "conversations side by side",
                Schedule::Slots(_) => "2 answers decoded at once",
            };
            assert_eq!(info.details["schedule"], expected);
            answers.push(got.into_iter().map(|g| g.text).collect::<Vec<_>>());
        }
        assert_eq!(answers[0], answers[1], "{grammar:?}");
        if grammar == Grammar::Schema {
            for text in &answers[1] {
                let value: serde_json::Value = serde_json::from_str(text).unwrap();
                assert!(value["intent"].is_string(), "{text}");
            }
        }
    }
}
