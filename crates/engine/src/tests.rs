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

/// `count` prompts of different lengths whose first tokens differ, so none reuses
/// another's prefix.
fn unrelated_prompts(count: usize, vocab: usize) -> Vec<Vec<u32>> {
    (0..count)
        .map(|i| {
            (0..3 + 4 * i)
                .map(|k| ((1 + i * 37 + k * 11) % vocab) as u32)
                .collect()
        })
        .collect()
}

/// Options of different lengths; every third job samples (temperature, top-p,
/// repetition penalty) from its own stream.
fn varied_options(count: usize) -> Vec<GenerateOptions> {
    (0..count)
        .map(|i| {
            let mut opts = greedy(4 + 3 * i, vec![]);
            if i % 3 == 1 {
                opts.sampling = super::sampler::SamplingParams {
                    temperature: 0.8,
                    top_p: 0.9,
                    repetition_penalty: 1.1,
                    seed: 5,
                };
                opts.stream = i as u64;
            }
            opts
        })
        .collect()
}

/// Every job of `jobs` decoded by [`Session::generate_batch`] with `slots` slots.
fn batched(
    session: &mut Session,
    jobs: &[(&[u32], GenerateOptions)],
    slots: usize,
) -> Vec<super::session::Completion> {
    let mut done = vec![None; jobs.len()];
    session
        .generate_batch(jobs, slots, |i, c| {
            done[i] = Some(c?);
            Ok(())
        })
        .unwrap();
    done.into_iter()
        .map(|c| c.expect("every job ends"))
        .collect()
}

/// Batched decoding gives every answer exactly as decoding it alone does: same tokens,
/// same finish, whatever the batch around it (slots free up and refill as answers of
/// different lengths end).
fn assert_batched_equals_alone(m: &Arc<Model>) {
    let prompts = unrelated_prompts(7, m.vocab());
    let options = varied_options(7);
    let alone: Vec<_> = prompts
        .iter()
        .zip(&options)
        .map(|(p, o)| Session::new(m.clone(), 0).generate(p, o, |_| {}).unwrap())
        .collect();
    let jobs: Vec<(&[u32], GenerateOptions)> = prompts
        .iter()
        .map(|p| &p[..])
        .zip(options.iter().cloned())
        .collect();
    for slots in [1, 3, 8] {
        let together = batched(&mut Session::new(m.clone(), 0), &jobs, slots);
        for (i, (a, b)) in alone.iter().zip(&together).enumerate() {
            assert_eq!(a.tokens, b.tokens, "job {i}, {slots} slots");
            assert_eq!(a.finish, b.finish, "job {i}, {slots} slots");
            assert_eq!(b.reused_tokens, 0, "job {i}, {slots} slots");
        }
    }
}

#[test]
fn batched_decoding_equals_decoding_alone() {
    assert_batched_equals_alone(&model(2));
}

/// The same on K-quant weights (Q4_K_M: Q4_K and Q6_K rows), whose kernels round a
/// token's sums by where it sits in a batch: a decoded token keeps its GEMV order.
#[test]
fn batched_decoding_equals_decoding_alone_on_k_quants() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny-q4_k_m.gguf");
    let spec = TinySpec {
        dim: 256,
        ff: 512,
        vocab: 128_256,
        ..spec()
    };
    spec.write_gguf(&path, okla_formats::gguf::FileType::Q4KM)
        .unwrap();
    let loaded = super::loader::load(&path, 2).unwrap();
    assert_batched_equals_alone(&loaded.model);
}

/// A prompt admitted while another decodes reuses the prefix they share from that
/// slot's cache, and answers as it does after that prompt in one session.
#[test]
fn batched_prompts_reuse_each_others_prefixes() {
    let m = model(2);
    let shared: Vec<u32> = (0..40).map(|k| (k * 7 + 3) % 300).collect();
    let first: Vec<u32> = shared.iter().copied().chain([11, 12]).collect();
    let second: Vec<u32> = shared.iter().copied().chain([13, 14, 15]).collect();
    let mut one_session = Session::new(m.clone(), 1 << 20);
    let expected: Vec<_> = [&first, &second]
        .iter()
        .map(|p| one_session.generate(p, &greedy(6, vec![]), |_| {}).unwrap())
        .collect();
    let jobs = [
        (&first[..], greedy(6, vec![])),
        (&second[..], greedy(6, vec![])),
    ];
    let together = batched(&mut Session::new(m.clone(), 1 << 20), &jobs, 2);
    assert_eq!(together[1].reused_tokens, shared.len());
    for (a, b) in expected.iter().zip(&together) {
        assert_eq!((&a.tokens, a.reused_tokens), (&b.tokens, b.reused_tokens));
    }
}
