//! Generation under the OKLA schema grammar on okla-tiny (OKLA production sampling),
//! against unconstrained generation, in the gguf backend's two regimes on the model's
//! two threads:
//! - `one session`: the cases one after another in one session, as a larger model runs;
//! - `side by side`: two conversation threads, each with a session of its own, as the
//!   backend runs a small model;
//!
//! each with the next mask computed after the forward pass (`sequential`) or during it
//! on another thread (`overlap`). Every variant generates the same tokens (the overlap
//! changes no result), so their times compare directly.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use okla_engine::grammar::MaskTrace;
use okla_engine::grammar::{gguf_token_bytes, Constrained, GrammarVocab};
use okla_engine::loader::load;
use okla_engine::sampler::SamplingParams;
use okla_engine::session::{Completion, GenerateOptions, Session};
use okla_harness::suite::{Decoding, Suite};

/// Cases generated per iteration: the suite's first, in file order.
const CASES: usize = 8;
const THREADS: usize = 2;

fn options(stop_tokens: &[u32], constraint: Option<Constrained>, stream: u64) -> GenerateOptions {
    GenerateOptions {
        max_new_tokens: 600,
        stop_tokens: stop_tokens.to_vec(),
        sampling: SamplingParams::from(&Decoding::production()),
        stream,
        constraint,
    }
}

/// Generates `prompts` (case `first` onwards: the case index is the sampler stream) in
/// one session.
fn one_session(
    model: &Arc<okla_engine::model::Model>,
    prompts: &[Vec<u32>],
    first: usize,
    opts: &dyn Fn(u64) -> GenerateOptions,
) -> Vec<Completion> {
    let mut session = Session::new(model.clone(), 1 << 28);
    prompts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let stream = (first + i) as u64;
            session.generate(p, &opts(stream), |_| {}).unwrap()
        })
        .collect()
}

/// Tokens generated, and the masks' mean compute and wait times (µs) when a grammar ran.
fn summary(done: &[Completion]) -> (usize, Option<(f64, f64)>) {
    let tokens = done.iter().map(|c| c.tokens.len()).sum();
    let traces: Vec<_> = done.iter().filter_map(|c| c.grammar.as_ref()).collect();
    let mean = |pick: fn(&MaskTrace) -> &Vec<Duration>| {
        let all: Vec<f64> = traces
            .iter()
            .flat_map(|t| pick(t).iter().map(|d| d.as_secs_f64() * 1e6))
            .collect();
        all.iter().sum::<f64>() / all.len().max(1) as f64
    };
    let masks = (!traces.is_empty()).then(|| (mean(|t| &t.compute), mean(|t| &t.wait)));
    (tokens, masks)
}

fn grammar_generate(c: &mut Criterion) {
    let loaded = load(Path::new("models/okla-tiny/okla-tiny-q4_k_m.gguf"), THREADS).unwrap();
    let tokenizer = &loaded.tokenizer;
    let suite = Suite::load(Path::new("suites/okla")).unwrap();
    let prompts: Vec<Vec<u32>> = suite.cases[..CASES]
        .iter()
        .map(|c| tokenizer.encode_chat(&c.prompt).unwrap())
        .collect();
    let stop = loaded.stop_tokens();
    let words = gguf_token_bytes(loaded.file.metadata()).unwrap();
    let env = GrammarVocab::new(words, &stop, loaded.model.vocab()).unwrap();
    let grammar = Arc::new(env.compile_schema(&suite.schema).unwrap());
    let constrained = |overlap| {
        Some(Constrained {
            grammar: grammar.clone(),
            overlap,
        })
    };
    let variants: [(&str, Option<Constrained>); 3] = [
        ("unconstrained", None),
        ("schema sequential", constrained(false)),
        ("schema overlap", constrained(true)),
    ];
    let half = CASES / THREADS;
    let model = &loaded.model;

    let mut group = c.benchmark_group("grammar_generate");
    group.sample_size(10);
    for (name, constraint) in &variants {
        let opts = |s| options(&stop, constraint.clone(), s);
        let opts = &opts;
        let side_by_side = || {
            std::thread::scope(|scope| {
                let runs: Vec<_> = prompts
                    .chunks(half)
                    .enumerate()
                    .map(|(k, part)| scope.spawn(move || one_session(model, part, k * half, opts)))
                    .collect();
                runs.into_iter()
                    .flat_map(|r| r.join().unwrap())
                    .collect::<Vec<_>>()
            })
        };
        let (tokens, masks) = summary(&one_session(model, &prompts, 0, opts));
        if let (Some((compute, wait)), (_, Some((compute2, wait2)))) =
            (masks, summary(&side_by_side()))
        {
            eprintln!(
                "{name}: {tokens} tokens; mean mask compute / wait: one session {compute:.1} / {wait:.1} µs, side by side {compute2:.1} / {wait2:.1} µs"
            );
        }
        group.throughput(Throughput::Elements(tokens as u64));
        group.bench_function(format!("one session, {name}"), |b| {
            b.iter(|| one_session(model, &prompts, 0, opts))
        });
        group.bench_function(format!("side by side, {name}"), |b| b.iter(side_by_side));
    }
    group.finish();
}

criterion_group!(benches, grammar_generate);
criterion_main!(benches);
