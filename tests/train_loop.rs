//! End-to-end CPU tests of the trainer (feature `train`): gradient checkpointing,
//! QLoRA vs dense, peft adapter files, exact resume, and an overfit run that
//! teaches a tiny model to answer OKLA prompts with valid JSON.
#![cfg(feature = "train")]

use std::collections::HashMap;

use anyhow::Result;
use okla_eval::suite::{Message, Role};
use okla_eval::train::adapter::{load_adapter, ADAPTER_WEIGHTS};
use okla_eval::train::config::LlamaConfig;
use okla_eval::train::data::{encode_all, ChatEncoder, Example};
use okla_eval::train::lora::LoraSettings;
use okla_eval::train::model::{Llama, Method};
use okla_eval::train::recipe::{Recipe, RecipeFields};
use okla_eval::train::trainer::Trainer;
use tch::{Device, Kind, Tensor};

/// Test fixture: a byte-level tokenizer with the Llama 3 template's structure
/// (begin, header start/end, end of turn as ids 256..=259). Production training
/// uses the model's own tokenizer and chat template from `src/text`.
struct ByteChat;
const BEGIN: u32 = 256;
const HEADER_START: u32 = 257;
const HEADER_END: u32 = 258;
const EOT: u32 = 259;
const VOCAB: i64 = 260;

impl ChatEncoder for ByteChat {
    fn encode_chat(&self, messages: &[Message]) -> Result<(Vec<u32>, Vec<bool>)> {
        let mut ids = vec![BEGIN];
        let mut mask = vec![false];
        for m in messages {
            let assistant = m.role == Role::Assistant;
            ids.push(HEADER_START);
            ids.extend(m.role.as_str().bytes().map(u32::from));
            ids.push(HEADER_END);
            ids.extend(b"\n\n".iter().map(|&b| u32::from(b)));
            mask.resize(ids.len(), false);
            ids.extend(m.content.bytes().map(u32::from));
            ids.push(EOT);
            mask.resize(ids.len(), assistant);
        }
        Ok((ids, mask))
    }
}

fn tiny_config() -> LlamaConfig {
    serde_json::from_value(serde_json::json!({
        "vocab_size": VOCAB, "hidden_size": 64, "intermediate_size": 128,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "max_position_embeddings": 512
    }))
    .unwrap()
}

fn tiny_model(method: Method, lora: &LoraSettings, seed: i64) -> Llama {
    tch::manual_seed(seed);
    let cfg = tiny_config();
    let weights = Llama::random_weights(&cfg);
    Llama::from_weights(cfg, weights, method, lora, Kind::Float, Device::Cpu).unwrap()
}

fn chat(user: &str, answer: &str) -> Vec<Message> {
    vec![
        Message::new(Role::System, "Eres el asistente de OKLA."),
        Message::new(Role::User, user),
        Message::new(Role::Assistant, answer),
    ]
}

const OKLA: [(&str, &str); 4] = [
    ("klk", r#"{"response":"Klk! En que te ayudo?","intent":"Greeting","confidence":0.95,"isFallback":false}"#),
    ("cuanto cuesta la yipeta?", r#"{"response":"RD$2,850,000, sujeto a confirmacion.","intent":"VehiclePrice","confidence":0.9,"isFallback":false}"#),
    ("dame tu cedula", r#"{"response":"No pedimos datos personales por chat.","intent":"LegalRefusal","confidence":0.9,"isFallback":false}"#),
    ("bye", r#"{"response":"Tato, a la orden!","intent":"Farewell","confidence":0.95,"isFallback":false}"#),
];

fn okla_examples() -> Vec<Example> {
    let convs: Vec<okla_eval::suite::Conversation> = OKLA
        .iter()
        .enumerate()
        .map(|(i, (u, a))| okla_eval::suite::Conversation { messages: chat(u, a), line: i + 1 })
        .collect();
    encode_all(&convs, &ByteChat).unwrap()
}

fn recipe(dir: &std::path::Path, f: RecipeFields) -> Recipe {
    let base = RecipeFields {
        output_dir: Some(dir.to_path_buf()),
        dtype: Some("f32".into()),
        device: Some("cpu".into()),
        eval_every: Some(0),
        ..Default::default()
    };
    Recipe::resolve(base.overlay(f), None).unwrap()
}

#[test]
fn masking_covers_assistant_content_and_its_end_of_turn_only() {
    let (ids, mask) = ByteChat.encode_chat(&chat("hola", "{}")).unwrap();
    let e = Example::from_mask(&ids, &mask).unwrap();
    let labelled: Vec<i64> = e.labels.iter().copied().filter(|&l| l >= 0).collect();
    assert_eq!(labelled, vec![b'{' as i64, b'}' as i64, EOT as i64]);
}

fn lora_grads(model: &Llama) -> Vec<(String, Tensor)> {
    model.adapters().into_iter().map(|(n, t)| (n, t.grad().copy())).collect()
}

#[test]
fn checkpointed_backward_gives_the_same_gradients_as_plain_autograd() {
    let lora = LoraSettings { dropout: 0.1, ..LoraSettings::default() };
    let ex = okla_examples();
    let batch = okla_eval::train::data::collate(&[&ex[0], &ex[1]], 0, Device::Cpu);
    let run = |ckpt: bool| {
        let model = tiny_model(Method::Qlora, &lora, 7);
        // make B non-zero so that gradients reach A too
        for (_, t) in model.adapters() {
            tch::no_grad(|| t.shallow_clone().normal_(0.0, 0.02));
        }
        let out = model.forward_backward(&batch, 0.01, Some(99), ckpt).unwrap();
        (out, lora_grads(&model))
    };
    let (plain, g1) = run(false);
    let (ckpt, g2) = run(true);
    assert_eq!(plain.tokens, ckpt.tokens);
    assert!((plain.loss_sum - ckpt.loss_sum).abs() < 1e-9 * plain.loss_sum.abs().max(1.0));
    for ((n, a), (_, b)) in g1.iter().zip(&g2) {
        assert!(a.abs().sum(Kind::Float).double_value(&[]) > 0.0, "{n} has no gradient");
        assert!(a.allclose(b, 1e-5, 1e-8, false), "{n} differs");
    }
}

#[test]
fn qlora_forward_stays_close_to_the_dense_model() {
    let lora = LoraSettings::default();
    let dense = tiny_model(Method::Lora, &lora, 5);
    let nf4 = tiny_model(Method::Qlora, &lora, 5);
    let ids = Tensor::from_slice(&[1i64, 50, 100, 150, 200, 250]).unsqueeze(0);
    let (a, b) = (dense.logits(&ids), nf4.logits(&ids));
    let rel = (&a - &b).norm().double_value(&[]) / a.norm().double_value(&[]);
    assert!(rel > 0.0 && rel < 0.2, "NF4 logits relative error {rel}");
}

#[test]
fn adapters_are_written_in_peft_layout_and_load_back() {
    let dir = tempfile::tempdir().unwrap();
    let lora = LoraSettings { r: 4, alpha: 8.0, ..LoraSettings::default() };
    let model = tiny_model(Method::Qlora, &lora, 3);
    let r = recipe(dir.path(), RecipeFields { lora_r: Some(4), lora_alpha: Some(8.0), ..Default::default() });
    let trainer = Trainer::new(r, model, okla_examples(), vec![], 0).unwrap();
    let out = trainer.export().unwrap();
    let (settings, tensors) = load_adapter(&out).unwrap();
    assert_eq!((settings.r, settings.alpha), (4, 8.0));
    assert!(tensors.contains_key("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
    assert!(tensors.contains_key("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"));
    assert_eq!(tensors.len(), 2 * 7 * 2);
    assert!(out.join(ADAPTER_WEIGHTS).is_file());
    let mut other = tiny_model(Method::Qlora, &lora, 4);
    other.load_adapters(tensors, &settings).unwrap();
    let a: HashMap<String, Tensor> = trainer.model().adapters().into_iter().collect();
    for (n, t) in other.adapters() {
        assert!(t.equal(&a[&n]), "{n}");
    }
}

fn snapshot_equal(a: &HashMap<String, Tensor>, b: &HashMap<String, Tensor>) -> bool {
    a.len() == b.len() && a.iter().all(|(n, t)| t.equal(&b[n]))
}

#[test]
fn resume_is_bit_identical_to_an_uninterrupted_run() {
    let fields = || RecipeFields {
        max_steps: Some(4),
        micro_batch_size: Some(1),
        grad_accum: Some(2),
        save_every: Some(2),
        lora_dropout: Some(0.1),
        learning_rate: Some(1e-2),
        warmup_ratio: Some(0.25),
        optimizer: Some(okla_eval::train::optim::OptimizerKind::Adamw8bit),
        ..Default::default()
    };
    let lora = LoraSettings { dropout: 0.1, ..LoraSettings::default() };
    let straight_dir = tempfile::tempdir().unwrap();
    let mut straight = Trainer::new(recipe(straight_dir.path(), fields()), tiny_model(Method::Qlora, &lora, 11), okla_examples(), vec![], 0).unwrap();
    straight.run_until(4).unwrap();

    let split_dir = tempfile::tempdir().unwrap();
    let mut first = Trainer::new(recipe(split_dir.path(), fields()), tiny_model(Method::Qlora, &lora, 11), okla_examples(), vec![], 0).unwrap();
    first.run_until(2).unwrap();
    let halfway = first.trainable_snapshot();
    drop(first);
    // a fresh process: different initial adapters, everything must come from the checkpoint
    let mut second = Trainer::new(recipe(split_dir.path(), fields()), tiny_model(Method::Qlora, &lora, 12), okla_examples(), vec![], 0).unwrap();
    assert_eq!(second.resume().unwrap(), Some(2));
    assert!(snapshot_equal(&second.trainable_snapshot(), &halfway));
    second.run_until(4).unwrap();
    assert!(snapshot_equal(&straight.trainable_snapshot(), &second.trainable_snapshot()), "resumed run diverged");
    assert!(!snapshot_equal(&halfway, &second.trainable_snapshot()), "training did not move the adapters");
    assert_eq!(straight.metrics().len(), second.metrics().len());
    let losses = |t: &Trainer| t.metrics().iter().filter_map(|m| m.loss).collect::<Vec<_>>();
    assert_eq!(losses(&straight), losses(&second));
}

#[test]
fn tiny_model_overfits_okla_prompts_and_answers_with_valid_json() {
    let dir = tempfile::tempdir().unwrap();
    let r = recipe(
        dir.path(),
        RecipeFields {
            method: Some(Method::Full),
            max_steps: Some(150),
            micro_batch_size: Some(4),
            grad_accum: Some(1),
            learning_rate: Some(3e-3),
            warmup_ratio: Some(0.05),
            weight_decay: Some(0.0),
            max_grad_norm: Some(1.0),
            optimizer: Some(okla_eval::train::optim::OptimizerKind::Adamw),
            save_every: Some(1000),
            gradient_checkpointing: Some(false),
            ..Default::default()
        },
    );
    let model = tiny_model(Method::Full, &LoraSettings::default(), 1);
    let examples = okla_examples();
    let mut trainer = Trainer::new(r, model, examples.clone(), examples, 0).unwrap();
    trainer.run_until(150).unwrap();
    let last = trainer.metrics().iter().filter_map(|m| m.loss).last().unwrap();
    assert!(last < 0.05, "final training loss {last}");
    assert!(dir.path().join("curves.svg").is_file() && dir.path().join("metrics.jsonl").is_file());
    for (user, answer) in OKLA {
        let mut messages = chat(user, answer);
        messages.pop();
        let (mut prompt, _) = ByteChat.encode_chat(&messages).unwrap();
        prompt.push(HEADER_START);
        prompt.extend(b"assistant".iter().map(|&b| u32::from(b)));
        prompt.push(HEADER_END);
        prompt.extend(b"\n\n".iter().map(|&b| u32::from(b)));
        let prompt: Vec<i64> = prompt.into_iter().map(i64::from).collect();
        let out = trainer.model().generate_greedy(&prompt, 200, &[EOT as i64]);
        assert_eq!(out.last(), Some(&(EOT as i64)), "{user}: did not stop");
        let text: Vec<u8> = out[..out.len() - 1].iter().map(|&t| t as u8).collect();
        let v: serde_json::Value = serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{user}: {e}: {}", String::from_utf8_lossy(&text)));
        assert!(v.get("intent").is_some());
    }
}
