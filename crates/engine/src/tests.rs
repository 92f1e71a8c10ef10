//! End-to-end properties of the graph, cache, generation and loss on small in-memory models.

use std::sync::Arc;

use super::kernels::Isa;
use super::model::Model;
use super::session::{FinishReason, GenerateOptions, Session};
use super::tiny::TinySpec;

fn spec() -> TinySpec {
    TinySpec {
        dim: 64,
        layers: 2,
        heads: 4,
        kv_heads: 2,
        ff: 96,
        vocab: 300,
        context: 1024,
        seed: 11,
        logit_scale: 4.0,
    }
}

fn model(threads: usize) -> Arc<Model> {
    Arc::new(spec().build_f32(threads, Isa::detect()).unwrap())
}

fn greedy(max_new_tokens: usize, stop_tokens: Vec<u32>) -> GenerateOptions {
    GenerateOptions::greedy(max_new_tokens, stop_tokens)
}

const PROMPT: [u32; 9] = [1, 17, 42, 299, 5, 5, 80, 123, 7];

#[test]
fn batched_prefill_equals_token_by_token() {
    let m = model(2);
    let mut batched = m.new_cache();
    let all: Vec<usize> = (0..PROMPT.len()).collect();
    let logits = m.forward(&mut batched, &PROMPT, &all).unwrap();
    let mut stepwise = m.new_cache();
    for (i, t) in PROMPT.iter().enumerate() {
        let one = m.forward(&mut stepwise, &[*t], &[0]).unwrap();
        assert_eq!(one, logits[i * 300..(i + 1) * 300], "position {i}");
    }
    assert_eq!(batched, stepwise);
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let run = |threads| {
        let m = model(threads);
        let mut cache = m.new_cache();
        m.forward(&mut cache, &PROMPT, &[PROMPT.len() - 1]).unwrap()
    };
    assert_eq!(run(1), run(3));
}

#[test]
fn scalar_and_avx2_models_agree() {
    if !Isa::Avx2.is_supported() {
        eprintln!("skipping: no AVX2 on this CPU");
        return;
    }
    let logits = |isa| {
        let m = spec().build_f32(1, isa).unwrap();
        let mut cache = m.new_cache();
        m.forward(&mut cache, &PROMPT, &[PROMPT.len() - 1]).unwrap()
    };
    let (a, b) = (logits(Isa::Scalar), logits(Isa::Avx2));
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    // f16 rounding of attention probabilities can flip on the last bit between the two.
    assert!(worst < 1e-2, "max logit difference {worst}");
}

#[test]
fn prefix_reuse_changes_nothing_but_work() {
    let m = model(2);
    let other: Vec<u32> = PROMPT[..6].iter().copied().chain([9, 9, 9]).collect();
    let mut fresh = Session::new(m.clone(), 1 << 20);
    let expected = fresh.generate(&other, &greedy(12, vec![]), |_| {}).unwrap();

    let mut warm = Session::new(m.clone(), 1 << 20);
    warm.generate(&PROMPT, &greedy(12, vec![]), |_| {}).unwrap();
    let reused = warm.generate(&other, &greedy(12, vec![]), |_| {}).unwrap();
    assert_eq!(reused.tokens, expected.tokens);
    assert_eq!(reused.reused_tokens, 6);
    let stats = warm.stats();
    assert_eq!((stats.prompt_tokens, stats.reused_tokens), (18, 6));
    assert!((stats.hit_rate() - 6.0 / 18.0).abs() < 1e-12);
}

#[test]
fn generation_stops_at_stop_tokens_and_length() {
    let m = model(1);
    let mut s = Session::new(m.clone(), 0);
    let free = s.generate(&PROMPT, &greedy(8, vec![]), |_| {}).unwrap();
    assert_eq!(free.tokens.len(), 8);
    assert_eq!(free.finish, FinishReason::Length);
    let stop_at = free.tokens[3];
    let first = free.tokens.iter().position(|&t| t == stop_at).unwrap();
    let stopped = s
        .generate(&PROMPT, &greedy(8, vec![stop_at]), |_| {})
        .unwrap();
    assert_eq!(stopped.finish, FinishReason::Stop);
    assert_eq!(stopped.tokens, free.tokens[..first]);
    let mut seen = Vec::new();
    let again = s
        .generate(&PROMPT, &greedy(8, vec![]), |t| seen.push(t))
        .unwrap();
    assert_eq!(
        again.tokens, free.tokens,
        "greedy decoding is deterministic"
    );
    assert_eq!(seen, free.tokens);
}

#[test]
fn nll_matches_log_softmax_of_full_logits() {
    let m = model(2);
    let targets = [false, false, false, false, true, true, false, true, true];
    let mut cache = m.new_cache();
    let all: Vec<usize> = (0..PROMPT.len()).collect();
    let logits = m.forward(&mut cache, &PROMPT, &all).unwrap();
    let mut expected = 0.0f64;
    for i in (1..PROMPT.len()).filter(|&i| targets[i]) {
        let row = &logits[(i - 1) * 300..i * 300];
        expected += super::ops::log_sum_exp(row) - row[PROMPT[i] as usize] as f64;
    }
    let mut s = Session::new(m.clone(), 1 << 20);
    let (sum, count) = s.nll(&PROMPT, &targets).unwrap();
    assert_eq!(count, 4);
    assert!((sum - expected).abs() < 1e-9, "{sum} vs {expected}");
    let (again, _) = s.nll(&PROMPT, &targets).unwrap();
    assert_eq!(again, sum, "reusing the cached prefix gives the same loss");
    assert_eq!(s.stats().reused_tokens, 3);
}
