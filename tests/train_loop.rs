//! End-to-end CPU tests of the trainer (feature `train`): gradient checkpointing,
//! QLoRA vs dense, peft adapter files, exact resume, and an overfit run that
//! teaches a tiny model to answer OKLA prompts with valid JSON.
#![cfg(feature = "train")]

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use okla_formats::progress::NoProgress;
use okla_harness::suite::{Conversation, Message, Role};
use okla_text::{ChatTokenizer, EOT};
use okla_train::adapter::{load_adapter, ADAPTER_WEIGHTS};
use okla_train::config::{Architecture, HfConfig};
use okla_train::data::{collate, encode_all, ChatEncoder, Example};
use okla_train::lora::LoraSettings;
use okla_train::loss_scale::LossScaler;
use okla_train::model::{Batch, CausalLm, LossSum, Method, IGNORE_INDEX};
use okla_train::recipe::{LossVocabulary, Recipe, RecipeFields};
use okla_train::trainer::Trainer;
use tch::{Device, Kind, Tensor};

/// The real Llama 3 tokenizer and chat template (bundled, `src/text`), with the
/// ids the tests use renumbered densely so that a tiny model has a tiny vocabulary.
struct Corpus {
    tokenizer: ChatTokenizer,
    examples: Vec<Example>,
    /// dense id → Llama 3 id
    vocab: Vec<i64>,
}

impl Corpus {
    fn okla() -> Self {
        let tokenizer = ChatTokenizer::llama3().unwrap();
        let convs: Vec<Conversation> = OKLA
            .iter()
            .enumerate()
            .map(|(i, (u, a))| Conversation {
                messages: chat(u, a),
                line: i + 1,
            })
            .collect();
        let mut examples = encode_all(&convs, &tokenizer).unwrap();
        let mut vocab: Vec<i64> = examples
            .iter()
            .flat_map(|e| e.ids.iter().copied())
            .collect();
        vocab.sort_unstable();
        vocab.dedup();
        let dense: HashMap<i64, i64> = vocab
            .iter()
            .enumerate()
            .map(|(i, &id)| (id, i as i64))
            .collect();
        for e in &mut examples {
            e.ids.iter_mut().for_each(|t| *t = dense[t]);
            e.labels
                .iter_mut()
                .filter(|l| **l != IGNORE_INDEX)
                .for_each(|l| *l = dense[l]);
        }
        Self {
            tokenizer,
            examples,
            vocab,
        }
    }

    fn dense(&self, id: u32) -> i64 {
        self.vocab.binary_search(&i64::from(id)).unwrap() as i64
    }

    fn eot(&self) -> i64 {
        self.dense(self.tokenizer.token_id(EOT).unwrap())
    }
}

/// torch's RNG is process-global: tests that seed it run one at a time.
static TORCH_RNG: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    // one intra-op thread: these models are tiny, and OpenMP's spinning threads
    // only slow a loaded 2-core CI machine down
    tch::set_num_threads(1);
    TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner())
}

fn tiny_config(vocab: usize) -> HfConfig {
    serde_json::from_value(serde_json::json!({
        "vocab_size": vocab, "hidden_size": 64, "intermediate_size": 128,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "max_position_embeddings": 512
    }))
    .unwrap()
}

/// A tiny Gemma 3: sliding, sliding, global layers (pattern 3), a window of 8 (the
/// OKLA examples are longer, so it masks), two query heads per key/value head of a
/// width other than hidden / heads, a query scale other than the head width's.
fn tiny_gemma_config(vocab: usize) -> HfConfig {
    HfConfig::from_json(serde_json::json!({
        "model_type": "gemma3_text", "vocab_size": vocab, "hidden_size": 64,
        "intermediate_size": 128, "num_hidden_layers": 3, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 32, "query_pre_attn_scalar": 24,
        "sliding_window": 8, "sliding_window_pattern": 3, "rope_theta": 1e6,
        "rope_local_base_freq": 1e4, "max_position_embeddings": 512
    }))
    .unwrap()
}

fn tiny_model(corpus: &Corpus, method: Method, lora: &LoraSettings, seed: i64) -> CausalLm {
    tiny_model_in(corpus, method, lora, seed, Kind::Float)
}

/// A tiny model of `config` over the corpus's vocabulary, seeded; a Gemma's
/// zero-initialised norms are drawn at random so that they matter.
fn tiny_model_of(
    config: fn(usize) -> HfConfig,
    corpus: &Corpus,
    method: Method,
    lora: &LoraSettings,
    seed: i64,
    kind: Kind,
) -> CausalLm {
    tch::manual_seed(seed);
    let cfg = config(corpus.vocab.len());
    let mut weights = CausalLm::random_weights(&cfg);
    if cfg.architecture() == Ok(Architecture::Gemma3) {
        // in name order: the map's own order differs from one map to the next
        let mut norms: Vec<_> = weights
            .iter_mut()
            .filter(|(name, _)| name.ends_with("norm.weight"))
            .collect();
        norms.sort_by(|a, b| a.0.cmp(b.0));
        for (_, w) in norms {
            let _ = w.normal_(0.0, 0.1);
        }
    }
    CausalLm::from_weights(cfg, weights, method, lora, kind, Device::Cpu).unwrap()
}

fn tiny_model_in(
    corpus: &Corpus,
    method: Method,
    lora: &LoraSettings,
    seed: i64,
    kind: Kind,
) -> CausalLm {
    tiny_model_of(tiny_config, corpus, method, lora, seed, kind)
}

fn chat(user: &str, answer: &str) -> Vec<Message> {
    vec![
        Message::new(Role::System, "Eres el asistente de OKLA."),
        Message::new(Role::User, user),
        Message::new(Role::Assistant, answer),
    ]
}

const OKLA: [(&str, &str); 4] = [
    (
        "klk",
        r#"{"response":"Klk! En que te ayudo?","intent":"Greeting","confidence":0.95,"isFallback":false}"#,
    ),
    (
        "cuanto cuesta la yipeta?",
        r#"{"response":"RD$2,850,000, sujeto a confirmacion.","intent":"VehiclePrice","confidence":0.9,"isFallback":false}"#,
    ),
    (
        "dame tu cedula",
        r#"{"response":"No pedimos datos personales por chat.","intent":"LegalRefusal","confidence":0.9,"isFallback":false}"#,
    ),
    (
        "bye",
        r#"{"response":"Tato, a la orden!","intent":"Farewell","confidence":0.95,"isFallback":false}"#,
    ),
];

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
    let tokenizer = ChatTokenizer::llama3().unwrap();
    let (ids, mask) = tokenizer
        .encode_for_training(&chat("hola", "{\"intent\":\"Greeting\"}"))
        .unwrap();
    let e = Example::from_mask(&ids, &mask).unwrap();
    let labelled: Vec<u32> = e
        .labels
        .iter()
        .filter(|&&l| l >= 0)
        .map(|&l| l as u32)
        .collect();
    assert_eq!(
        tokenizer.decode(&labelled).unwrap(),
        "{\"intent\":\"Greeting\"}<|eot_id|>"
    );
    // the assistant header before the answer and the trailing generation prompt carry no label
    let last_label = e.labels.iter().rposition(|&l| l >= 0).unwrap();
    assert_eq!(
        e.ids[last_label],
        i64::from(tokenizer.token_id(EOT).unwrap())
    );
}

fn lora_grads(model: &CausalLm) -> Vec<(String, Tensor)> {
    model
        .adapters()
        .into_iter()
        .map(|(n, t)| (n, t.grad().copy()))
        .collect()
}

#[test]
fn checkpointed_backward_gives_the_same_gradients_as_plain_autograd() {
    checkpointing_matches_plain_autograd(tiny_config, None);
}

#[test]
fn checkpointing_with_the_mlp_in_pieces_matches_plain_autograd() {
    // 7 rows per piece: the two sequences' rows span several pieces and a ragged last one
    checkpointing_matches_plain_autograd(tiny_config, Some(7 * tiny_config(1).intermediate_size));
}

#[test]
fn gemma_checkpointing_with_the_mlp_in_pieces_matches_plain_autograd() {
    let corpus = Corpus::okla();
    assert!(
        corpus.examples.iter().all(|e| e.ids.len() > 8),
        "the window must mask"
    );
    checkpointing_matches_plain_autograd(
        tiny_gemma_config,
        Some(7 * tiny_gemma_config(1).intermediate_size),
    );
}

/// Plain autograd and the checkpointed backward (MLP cut into pieces of
/// `piece_values` when given, in both) agree on loss and every LoRA gradient, for a
/// tiny model of `config`.
fn checkpointing_matches_plain_autograd(config: fn(usize) -> HfConfig, piece_values: Option<i64>) {
    let _rng = serial();
    let lora = LoraSettings {
        dropout: 0.1,
        ..LoraSettings::default()
    };
    let corpus = Corpus::okla();
    let ex = &corpus.examples;
    let batch = collate(&[&ex[0], &ex[1]], 0, Device::Cpu);
    let run = |ckpt: bool| {
        let mut model = tiny_model_of(config, &corpus, Method::Qlora, &lora, 7, Kind::Float);
        if let Some(values) = piece_values {
            model.set_mlp_piece_values(values);
        }
        // make B non-zero so that gradients reach A too
        for (_, t) in model.adapters() {
            let _ = tch::no_grad(|| t.shallow_clone().normal_(0.0, 0.02));
        }
        let out = model
            .forward_backward(&batch, 0.01, Some(99), ckpt)
            .unwrap();
        (out, lora_grads(&model))
    };
    let (plain, g1) = run(false);
    let (ckpt, g2) = run(true);
    assert_eq!(plain.tokens, ckpt.tokens);
    assert!((plain.loss_sum - ckpt.loss_sum).abs() < 1e-9 * plain.loss_sum.abs().max(1.0));
    for ((n, a), (_, b)) in g1.iter().zip(&g2) {
        assert!(
            a.abs().sum(Kind::Float).double_value(&[]) > 0.0,
            "{n} has no gradient"
        );
        assert!(a.allclose(b, 1e-5, 1e-8, false), "{n} differs");
    }
}

#[test]
fn a_queued_loss_reads_as_the_plain_one_and_a_batch_without_labels_is_empty() {
    let _rng = serial();
    let lora = LoraSettings::default();
    let corpus = Corpus::okla();
    let ex = &corpus.examples;
    let host = collate(&[&ex[0], &ex[1]], 0, Device::Cpu);
    assert!(host.host_input_ids().unwrap().equal(&host.input_ids));
    assert!(host.host_labels().unwrap().equal(&host.labels));
    // the same batch without its host copy (as a device batch would come)
    let plain = Batch::new(host.input_ids.copy(), host.labels.copy());
    let run = |batch: &Batch, queued: bool| {
        let model = tiny_model(&corpus, Method::Qlora, &lora, 7);
        for (_, t) in model.adapters() {
            let _ = tch::no_grad(|| t.shallow_clone().normal_(0.0, 0.02));
        }
        let out = if queued {
            model
                .forward_backward_queued(batch, 0.01, Some(99), true)
                .unwrap()
                .read()
        } else {
            model.forward_backward(batch, 0.01, Some(99), true).unwrap()
        };
        (out, lora_grads(&model), model.eval_loss(batch))
    };
    let (a, ga, ea) = run(&host, true);
    let (b, gb, eb) = run(&plain, false);
    assert_eq!(a, b);
    assert_eq!(ea, eb);
    assert!(a.tokens > 0 && a.loss_sum > 0.0);
    for ((n, x), (_, y)) in ga.iter().zip(&gb) {
        assert!(x.equal(y), "{n} differs");
    }
    // no label: no loss, no token, no gradient
    let mut unlabelled = ex[0].clone();
    unlabelled.labels.fill(IGNORE_INDEX);
    let empty = collate(&[&unlabelled], 0, Device::Cpu);
    let model = tiny_model(&corpus, Method::Qlora, &lora, 7);
    let out = model
        .forward_backward_queued(&empty, 1.0, Some(1), true)
        .unwrap();
    assert_eq!(out.tokens, 0);
    assert_eq!(
        out.read(),
        LossSum {
            loss_sum: 0.0,
            tokens: 0
        }
    );
    assert!(model.adapters().iter().all(|(_, t)| !t.grad().defined()));
}

#[test]
fn qlora_forward_stays_close_to_the_dense_model() {
    let _rng = serial();
    let corpus = Corpus::okla();
    let lora = LoraSettings::default();
    let dense = tiny_model(&corpus, Method::Lora, &lora, 5);
    let nf4 = tiny_model(&corpus, Method::Qlora, &lora, 5);
    let ids = Tensor::from_slice(&corpus.examples[0].ids).unsqueeze(0);
    let (a, b) = (dense.logits(&ids), nf4.logits(&ids));
    let rel = (&a - &b).norm().double_value(&[]) / a.norm().double_value(&[]);
    assert!(rel > 0.0 && rel < 0.2, "NF4 logits relative error {rel}");
}

#[test]
fn adapters_are_written_in_peft_layout_and_load_back() {
    adapters_round_trip(tiny_config);
}

#[test]
fn gemma_adapters_are_written_in_peft_layout_and_load_back() {
    adapters_round_trip(tiny_gemma_config);
}

/// A tiny model of `config`'s adapters, exported by the trainer in peft's layout,
/// load into another model of that shape as they were.
fn adapters_round_trip(config: fn(usize) -> HfConfig) {
    let _rng = serial();
    let dir = tempfile::tempdir().unwrap();
    let corpus = Corpus::okla();
    let lora = LoraSettings {
        r: 4,
        alpha: 8.0,
        ..LoraSettings::default()
    };
    let model = tiny_model_of(config, &corpus, Method::Qlora, &lora, 3, Kind::Float);
    let layers = model.config.num_hidden_layers as usize;
    let r = recipe(
        dir.path(),
        RecipeFields {
            lora_r: Some(4),
            lora_alpha: Some(8.0),
            ..Default::default()
        },
    );
    let trainer = Trainer::new(r, model, corpus.examples.clone(), vec![], 0).unwrap();
    let data = trainer.data_summary();
    assert_eq!((data.examples, data.truncated), (4, 0));
    assert_eq!(
        data.max_seq_len,
        corpus.examples.iter().map(|e| e.ids.len()).max().unwrap()
    );
    let out = trainer.export().unwrap();
    let (settings, tensors) = load_adapter(&out).unwrap();
    assert_eq!((settings.r, settings.alpha), (4, 8.0));
    assert!(tensors.contains_key("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
    assert!(tensors.contains_key("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"));
    assert_eq!(tensors.len(), 2 * 7 * layers);
    assert!(out.join(ADAPTER_WEIGHTS).is_file());
    let mut other = tiny_model_of(config, &corpus, Method::Qlora, &lora, 4, Kind::Float);
    other.load_adapters(tensors, &settings).unwrap();
    let a: HashMap<String, Tensor> = trainer.model().adapters().into_iter().collect();
    for (n, t) in other.adapters() {
        assert!(t.equal(&a[&n]), "{n}");
    }
    // the same adapters give the same logits (other's base is another draw: put the
    // trained model's adapters on a copy of its own base instead)
    let ids = Tensor::from_slice(&corpus.examples[0].ids).unsqueeze(0);
    let mut same = tiny_model_of(config, &corpus, Method::Qlora, &lora, 3, Kind::Float);
    same.load_adapters(load_adapter(&out).unwrap().1, &settings)
        .unwrap();
    assert!(same.logits(&ids).equal(&trainer.model().logits(&ids)));
}

#[test]
fn a_short_qlora_run_lowers_a_tiny_gemmas_loss() {
    let _rng = serial();
    let dir = tempfile::tempdir().unwrap();
    let corpus = Corpus::okla();
    let lora = LoraSettings::default();
    let model = tiny_model_of(
        tiny_gemma_config,
        &corpus,
        Method::Qlora,
        &lora,
        11,
        Kind::Float,
    );
    let r = recipe(
        dir.path(),
        RecipeFields {
            method: Some(Method::Qlora),
            max_steps: Some(12),
            micro_batch_size: Some(2),
            grad_accum: Some(1),
            learning_rate: Some(1e-2),
            warmup_ratio: Some(0.0),
            save_every: Some(1000),
            ..Default::default()
        },
    );
    let mut trainer = Trainer::new(r, model, corpus.examples.clone(), vec![], 0).unwrap();
    trainer.run_until(12, &NoProgress).unwrap();
    let losses: Vec<f64> = trainer.metrics().iter().filter_map(|m| m.loss).collect();
    assert_eq!(losses.len(), 12);
    let (first, last) = (
        losses[..2].iter().sum::<f64>(),
        losses[10..].iter().sum::<f64>(),
    );
    assert!(
        losses.iter().all(|l| l.is_finite()) && last < 0.9 * first,
        "losses {losses:?}"
    );
}

fn snapshot_equal(a: &HashMap<String, Tensor>, b: &HashMap<String, Tensor>) -> bool {
    a.len() == b.len() && a.iter().all(|(n, t)| t.equal(&b[n]))
}

/// N steps straight equal N/2 + resume + N/2 bit for bit, in compute dtype `dtype`.
fn assert_resume_is_exact(dtype: &str, kind: Kind) {
    let _rng = serial();
    let fields = || RecipeFields {
        dtype: Some(dtype.into()),
        max_steps: Some(4),
        micro_batch_size: Some(1),
        grad_accum: Some(2),
        save_every: Some(2),
        lora_dropout: Some(0.1),
        learning_rate: Some(1e-2),
        warmup_ratio: Some(0.25),
        optimizer: Some(okla_train::optim::OptimizerKind::Adamw8bit),
        ..Default::default()
    };
    let corpus = Corpus::okla();
    let lora = LoraSettings {
        dropout: 0.1,
        ..LoraSettings::default()
    };
    let straight_dir = tempfile::tempdir().unwrap();
    let mut straight = Trainer::new(
        recipe(straight_dir.path(), fields()),
        tiny_model_in(&corpus, Method::Qlora, &lora, 11, kind),
        corpus.examples.clone(),
        vec![],
        0,
    )
    .unwrap();
    straight.run_until(4, &NoProgress).unwrap();

    let split_dir = tempfile::tempdir().unwrap();
    let mut first = Trainer::new(
        recipe(split_dir.path(), fields()),
        tiny_model_in(&corpus, Method::Qlora, &lora, 11, kind),
        corpus.examples.clone(),
        vec![],
        0,
    )
    .unwrap();
    first.run_until(2, &NoProgress).unwrap();
    let halfway = first.trainable_snapshot();
    drop(first);
    // a fresh process: the same base model with fresh adapters; the adapters,
    // optimizer state, schedule and data position must come from the checkpoint
    let mut second = Trainer::new(
        recipe(split_dir.path(), fields()),
        tiny_model_in(&corpus, Method::Qlora, &lora, 11, kind),
        corpus.examples.clone(),
        vec![],
        0,
    )
    .unwrap();
    assert!(!snapshot_equal(&second.trainable_snapshot(), &halfway));
    assert_eq!(second.resume().unwrap().map(|r| r.step), Some(2));
    assert!(snapshot_equal(&second.trainable_snapshot(), &halfway));
    second.run_until(4, &NoProgress).unwrap();
    assert!(
        snapshot_equal(&straight.trainable_snapshot(), &second.trainable_snapshot()),
        "resumed run diverged"
    );
    assert!(
        !snapshot_equal(&halfway, &second.trainable_snapshot()),
        "training did not move the adapters"
    );
    assert_eq!(straight.metrics().len(), second.metrics().len());
    let losses = |t: &Trainer| {
        t.metrics()
            .iter()
            .filter_map(|m| m.loss)
            .collect::<Vec<_>>()
    };
    assert_eq!(losses(&straight), losses(&second));
    assert_eq!(straight.loss_scaler(), second.loss_scaler());
}

#[test]
fn resume_is_bit_identical_to_an_uninterrupted_run() {
    assert_resume_is_exact("f32", Kind::Float);
}

#[test]
fn resume_is_bit_identical_with_fp16_loss_scaling() {
    assert_resume_is_exact("f16", Kind::Half);
}

#[test]
fn an_fp16_overflow_skips_the_step_halves_the_scale_and_is_checkpointed() {
    let _rng = serial();
    let corpus = Corpus::okla();
    let lora = LoraSettings::default();
    let dir = tempfile::tempdir().unwrap();
    let fields = || RecipeFields {
        dtype: Some("f16".into()),
        max_steps: Some(2),
        micro_batch_size: Some(2),
        grad_accum: Some(1),
        save_every: Some(1),
        ..Default::default()
    };
    let new_trainer = || {
        Trainer::new(
            recipe(dir.path(), fields()),
            tiny_model_in(&corpus, Method::Qlora, &lora, 5, Kind::Half),
            corpus.examples.clone(),
            vec![],
            0,
        )
        .unwrap()
    };
    let mut trainer = new_trainer();
    let fresh = trainer.loss_scaler().unwrap();
    assert_eq!(fresh, LossScaler::default());
    // f16 holds at most 65,504: a scale of 1e30 overflows every gradient
    trainer.set_loss_scaler(LossScaler {
        scale: 1e30,
        ..fresh
    });
    let before = trainer.trainable_snapshot();
    trainer.run_until(1, &NoProgress).unwrap();
    let after = trainer.loss_scaler().unwrap();
    assert_eq!(
        (after.scale, after.skipped_steps, after.growth_tracker),
        (5e29, 1, 0)
    );
    assert!(
        snapshot_equal(&before, &trainer.trainable_snapshot()),
        "a skipped step must not move the adapters"
    );
    let record = &trainer.metrics()[0];
    assert_eq!(record.grad_norm, None);
    assert!(record.loss.unwrap().is_finite());
    // the scaler state travels with the checkpoint
    let mut resumed = new_trainer();
    assert_eq!(resumed.resume().unwrap().map(|r| r.step), Some(1));
    assert_eq!(resumed.loss_scaler(), Some(after));
}

#[test]
fn tiny_model_overfits_okla_prompts_and_answers_with_valid_json() {
    let _rng = serial();
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
            optimizer: Some(okla_train::optim::OptimizerKind::Adamw),
            save_every: Some(1000),
            gradient_checkpointing: Some(false),
            ..Default::default()
        },
    );
    let corpus = Corpus::okla();
    let model = tiny_model(&corpus, Method::Full, &LoraSettings::default(), 1);
    let examples = corpus.examples.clone();
    let mut trainer = Trainer::new(r, model, examples.clone(), examples, 0).unwrap();
    trainer.run_until(150, &NoProgress).unwrap();
    let last = trainer.metrics().iter().rev().find_map(|m| m.loss).unwrap();
    assert!(last < 0.05, "final training loss {last}");
    assert!(dir.path().join("curves.svg").is_file() && dir.path().join("metrics.jsonl").is_file());
    for (user, answer) in OKLA {
        let mut messages = chat(user, answer);
        messages.pop();
        let prompt: Vec<i64> = corpus
            .tokenizer
            .encode_chat(&messages)
            .unwrap()
            .into_iter()
            .map(|t| corpus.dense(t))
            .collect();
        let out = trainer
            .model()
            .generate_greedy(&prompt, 80, &[corpus.eot()]);
        assert_eq!(out.last(), Some(&corpus.eot()), "{user}: did not stop");
        let ids: Vec<u32> = out[..out.len() - 1]
            .iter()
            .map(|&t| corpus.vocab[t as usize] as u32)
            .collect();
        let text = corpus.tokenizer.decode(&ids).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{user}: {e}: {text}"));
        assert!(v.get("intent").is_some());
        assert_eq!(text, answer, "{user}");
    }
}

/// Embedding rows before and after `steps` full fine-tuning steps of a tied tiny
/// model whose vocabulary has `unseen` extra tokens the corpus never uses, and the
/// losses.
fn tied_run(
    corpus: &Corpus,
    unseen: usize,
    vocabulary: LossVocabulary,
    steps: u64,
) -> (Tensor, Tensor, Vec<f64>) {
    tch::manual_seed(21);
    let mut cfg = tiny_config(corpus.vocab.len() + unseen);
    cfg.tie_word_embeddings = true;
    let weights = CausalLm::random_weights(&cfg);
    let before = weights["model.embed_tokens.weight"].copy();
    let model = CausalLm::from_weights(
        cfg,
        weights,
        Method::Full,
        &LoraSettings::default(),
        Kind::Float,
        Device::Cpu,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fields = RecipeFields {
        method: Some(Method::Full),
        from_scratch: Some(true),
        optimizer: Some(okla_train::optim::OptimizerKind::Adamw),
        weight_decay: Some(0.0),
        learning_rate: Some(1e-2),
        warmup_ratio: Some(0.0),
        max_steps: Some(steps),
        micro_batch_size: Some(2),
        grad_accum: Some(1),
        loss_vocabulary: Some(vocabulary),
        ..Default::default()
    };
    let mut trainer = Trainer::new(
        recipe(dir.path(), fields),
        model,
        corpus.examples.clone(),
        vec![],
        0,
    )
    .unwrap();
    trainer.run_until(steps, &NoProgress).unwrap();
    let after = trainer
        .model()
        .base_weights()
        .into_iter()
        .find(|(n, _)| n == "model.embed_tokens.weight")
        .unwrap()
        .1
        .copy();
    let losses = trainer.metrics().iter().filter_map(|m| m.loss).collect();
    (before, after, losses)
}

#[test]
fn a_corpus_loss_vocabulary_leaves_unseen_tokens_at_zero_out_of_the_softmax() {
    let _rng = serial();
    let corpus = Corpus::okla();
    let n = corpus.vocab.len() as i64;
    let seen = corpus.eot();
    let (before, after, corpus_losses) = tied_run(&corpus, 50, LossVocabulary::Corpus, 2);
    // the 50 tokens the corpus never shows: rows zeroed and kept at zero; seen rows learn
    assert_eq!(
        after
            .narrow(0, n, 50)
            .abs()
            .sum(Kind::Float)
            .double_value(&[]),
        0.0
    );
    assert!(!after.get(seen).equal(&before.get(seen)));
    // with the whole vocabulary, the unseen rows keep their random values and move
    let (before, after, full_losses) = tied_run(&corpus, 50, LossVocabulary::Full, 2);
    let moved = (after.narrow(0, n, 50) - before.narrow(0, n, 50)).abs();
    assert!(moved.sum(Kind::Float).double_value(&[]) > 0.0);
    // the same weights and batch: one zero logit in place of 50 random ones lowers the loss
    assert!(
        corpus_losses[0] < full_losses[0],
        "{corpus_losses:?} {full_losses:?}"
    );
}
