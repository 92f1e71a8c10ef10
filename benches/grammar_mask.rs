//! Grammar masks on the OKLA schema with the 128k Llama 3 vocabulary: the time to compute
//! the next token's mask and commit the token, per token, walking the suite's reference
//! answers token by token (as a model writing them would), and the one-time costs
//! (token environment, schema compile). Before criterion's mean it prints each mask's
//! own time, mean and p99 per token, from one pass over the answers.

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use okla_engine::grammar::{token_bytes, CompiledGrammar, GrammarVocab};
use okla_harness::suite::Suite;
use okla_text::gguf_vocab::GgufVocab;
use okla_text::ChatTokenizer;

/// Reference answers walked per pass.
const ANSWERS: usize = 40;

/// The token ids of the first [`ANSWERS`] distinct references.
fn answers(tokenizer: &ChatTokenizer, suite: &Suite) -> Vec<Vec<u32>> {
    let mut seen = std::collections::HashSet::new();
    suite
        .cases
        .iter()
        .filter(|c| seen.insert(c.reference.clone()))
        .take(ANSWERS)
        .map(|c| tokenizer.encode(&c.reference).expect("reference tokenizes"))
        .collect()
}

/// Walks every answer: a mask before each token (and before the stop token), then the
/// token committed. Returns each mask's time.
fn walk(grammar: &CompiledGrammar, answers: &[Vec<u32>]) -> Vec<Duration> {
    let mut times = Vec::new();
    for tokens in answers {
        let mut constraint = grammar.start();
        for &t in tokens {
            let start = Instant::now();
            let mask = constraint.mask().expect("a mask");
            times.push(start.elapsed());
            assert!(mask.allows(t), "the reference's token {t} is allowed");
            constraint.commit(t).expect("commit");
        }
        let start = Instant::now();
        let last = constraint.mask().expect("the final mask");
        times.push(start.elapsed());
        assert!(last.allows(128009), "the closed answer may stop");
    }
    times
}

fn grammar_mask(c: &mut Criterion) {
    let tokenizer = ChatTokenizer::llama3().expect("bundled tokenizer");
    let hf = tokenizer
        .hf_tokenizer()
        .expect("a tokenizer.json tokenizer");
    let vocab =
        GgufVocab::from_tokenizer(hf, "<|begin_of_text|>", "<|eot_id|>").expect("vocabulary");
    let suite = Suite::load(Path::new("suites/okla")).expect("the OKLA suite");
    let stop = [128009, 128001];
    let words = token_bytes(&vocab).expect("byte-level tokens");
    let env = GrammarVocab::new(words, &stop, vocab.tokens.len()).expect("token environment");
    let grammar = env
        .compile_schema(&suite.schema)
        .expect("OKLA schema compiles");
    let answers = answers(&tokenizer, &suite);
    let masks: usize = answers.iter().map(|a| a.len() + 1).sum();

    // The first pass builds the lexer's states; the figures are those of a warm grammar.
    walk(&grammar, &answers);
    let mut times = walk(&grammar, &answers);
    times.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mean = times.iter().map(|&d| us(d)).sum::<f64>() / times.len() as f64;
    let p99 = us(times[(times.len() * 99).div_ceil(100) - 1]);
    eprintln!(
        "OKLA schema, Llama 3 vocabulary ({} tokens): token environment {:.0} ms, schema compile {:.1} ms; \
         {masks} masks over {} reference answers: mean {mean:.1} µs, p99 {p99:.1} µs, max {:.1} µs",
        vocab.tokens.len(),
        env.built_in().as_secs_f64() * 1e3,
        grammar.compiled_in().as_secs_f64() * 1e3,
        answers.len(),
        us(*times.last().expect("masks")),
    );

    let mut group = c.benchmark_group("grammar_mask");
    group.throughput(Throughput::Elements(masks as u64));
    group.sample_size(20);
    group.bench_function("okla schema, llama3 vocab, mask + commit per token", |b| {
        b.iter(|| walk(&grammar, &answers))
    });
    group.finish();
}

criterion_group!(benches, grammar_mask);
criterion_main!(benches);
