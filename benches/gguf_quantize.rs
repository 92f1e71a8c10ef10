//! Whole-file F16 → Q4_K_M quantization: `gguf quantize` against llama.cpp's
//! llama_model_quantize (through llama-cpp-python, timed in-process by
//! scripts/llama_cpp/time_llama_quantize.py) on the same synthetic llama input with the
//! same thread count. The llama.cpp side is skipped, with a message, when the pyref
//! venv or llama-cpp-python is missing.
//!
//! Run: `cargo bench --bench gguf_quantize` (env BENCH_THREADS, default 2).

#[path = "../tests/common/tiny_llama.rs"]
mod tiny_llama;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use okla_formats::gguf::quantize::quantize_file_with_threads;
use okla_formats::gguf::FileType;
use okla_formats::progress::NoProgress;
use tiny_llama::TinyLlama;

/// A llama with 8 layers of n_embd 512 and FFN 1536: about 26M parameters, 50 MB of F16.
fn bench_model() -> TinyLlama {
    TinyLlama {
        n_layer: 8,
        n_embd: 512,
        n_head: 8,
        n_head_kv: 4,
        n_ff: 1536,
        seed: 7,
    }
}

fn pyref_python() -> Option<PathBuf> {
    let cache = std::env::var_os("OKLA_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/okla-eval")))?;
    let python = cache.join("pyref/bin/python");
    let has_llama = Command::new(&python)
        .args(["-c", "import llama_cpp"])
        .output()
        .is_ok_and(|o| o.status.success());
    has_llama.then_some(python)
}

fn llama_cpp_seconds(
    python: &Path,
    input: &Path,
    output: &Path,
    threads: usize,
    iters: u64,
) -> f64 {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/llama_cpp/time_llama_quantize.py"
    );
    let out = Command::new(python)
        .arg(script)
        .arg(input)
        .arg(output)
        .args([
            FileType::Q4KM.ftype_id().to_string(),
            threads.to_string(),
            iters.to_string(),
        ])
        .output()
        .expect("running the llama.cpp timing script");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("seconds")
}

fn whole_file_q4_k_m(c: &mut Criterion) {
    let threads: usize = std::env::var("BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(2);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bench-f16.gguf");
    let model = bench_model();
    model.write(&input).unwrap();
    let params: u64 = model
        .tensors()
        .iter()
        .map(|t| t.dims.iter().product::<u64>())
        .sum();

    let mut group = c.benchmark_group(format!("f16_to_q4_k_m_{threads}_threads"));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(params));
    let ours = dir.path().join("okla.gguf");
    group.bench_function("okla-eval", |b| {
        b.iter(|| {
            quantize_file_with_threads(&input, &ours, FileType::Q4KM, threads, &NoProgress).unwrap()
        })
    });
    match pyref_python() {
        Some(python) => {
            let theirs = dir.path().join("llama-cpp.gguf");
            group.bench_function("llama.cpp", |b| {
                b.iter_custom(|iters| {
                    Duration::from_secs_f64(llama_cpp_seconds(
                        &python, &input, &theirs, threads, iters,
                    ))
                })
            });
        }
        None => eprintln!("llama.cpp side skipped: no pyref venv with llama-cpp-python"),
    }
    group.finish();
}

criterion_group!(benches, whole_file_q4_k_m);
criterion_main!(benches);
