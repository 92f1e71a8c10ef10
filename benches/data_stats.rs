//! `data stats` tokenization throughput on the real FASE 2 eval and test files (603 of
//! the 3,013 ~1,400-token OKLA conversations under the Llama 3 template, to keep the
//! bench short), on one thread and on two side by side. Target: all 3,013 in a few
//! seconds on 2 cores, i.e. at least ~600 conversations/s on two threads. Skips with
//! a printed reason when ../shared/reference/okla_fase2 is absent.

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use okla_domain::stats::{load_files, token_lengths};
use okla_formats::progress::NoProgress;
use okla_text::ChatTokenizer;

const FASE2: &str = "../shared/reference/okla_fase2";

fn data_stats(c: &mut Criterion) {
    if !Path::new(FASE2).is_dir() {
        println!("skipped: {FASE2} is absent");
        return;
    }
    let paths: Vec<PathBuf> = ["okla_eval.jsonl", "okla_test.jsonl"]
        .iter()
        .map(|name| Path::new(FASE2).join(name))
        .collect();
    let files = load_files(&paths).expect("FASE 2 files load");
    let conversations: usize = files.iter().map(|f| f.conversations.len()).sum();
    let tokenizer = ChatTokenizer::llama3().expect("bundled tokenizer");
    let mut group = c.benchmark_group("fase2_token_lengths");
    group.sample_size(10);
    group.throughput(Throughput::Elements(conversations as u64));
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        group.bench_function(format!("{threads}_threads"), |b| {
            b.iter(|| pool.install(|| token_lengths(&files, &tokenizer, &NoProgress)))
        });
    }
    group.finish();
}

criterion_group!(benches, data_stats);
criterion_main!(benches);
