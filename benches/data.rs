//! Speed of the dataset tools on a FASE 2-sized set (3,000 conversations):
//! `data synth` generation and `data lint` of the three generated splits.

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion};
use okla_domain::lint::{lint, Rules};
use okla_domain::synth::{generate, write, Split, SplitSizes};
use okla_formats::progress::NoProgress;

fn synth_and_lint(c: &mut Criterion) {
    let mut group = c.benchmark_group("data");
    group.sample_size(10);
    group.bench_function("synth_3000", |b| {
        b.iter(|| generate(42, SplitSizes::new(3000, None), &NoProgress).unwrap())
    });
    let dir = tempfile::tempdir().unwrap();
    write(
        &generate(42, SplitSizes::new(3000, None), &NoProgress).unwrap(),
        dir.path(),
    )
    .unwrap();
    let files: Vec<PathBuf> = Split::ALL
        .iter()
        .map(|s| dir.path().join(s.file_name()))
        .collect();
    let rules = Rules::from_suite(Path::new("suites/okla")).unwrap();
    group.bench_function("lint_3000", |b| b.iter(|| lint(&files, &rules).unwrap()));
    group.finish();
}

criterion_group!(benches, synth_and_lint);
criterion_main!(benches);
