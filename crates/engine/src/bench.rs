//! Speed of a GGUF on the engine, the way llama-bench measures it: prompt processing
//! (ppN) and generation (tgN; with several sequences decoded at once, tgN×B, as
//! llama-batched-bench's S_TG) per thread count, every repetition's time kept, plus the
//! process's peak resident memory. Each [`BenchRow`] describes itself (tool version,
//! commit, CPU, threads, batch size, test time, samples) so two bench files can be
//! told apart; rendering is the binary's job.

use std::path::Path;
use std::time::Instant;

use okla_formats::clock::now_rfc3339;

use anyhow::Result;
use serde::Serialize;

use super::kv_cache::KvCache;
use super::loader::load;
use super::model::{Model, PREFILL_CHUNK};

/// What to measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchPlan {
    /// Thread counts to try.
    pub threads: Vec<usize>,
    /// Prompt tokens processed in one batch (pp test; 0 skips it).
    pub n_prompt: usize,
    /// Tokens generated one at a time (tg test; 0 skips it).
    pub n_gen: usize,
    /// Sequences decoded at once in the tg test, one test per value (1: one sequence,
    /// llama-bench's tg; B > 1: B sequences share each forward pass).
    pub parallel: Vec<usize>,
    /// Tokens already in the cache when each test starts (llama-bench's `-d`), prefilled
    /// once, untimed, and copied into every sequence's cache.
    pub depth: usize,
    /// Timed repetitions per test (after one untimed warm-up).
    pub repetitions: usize,
    /// The measuring tool's version, recorded in every row.
    pub tool_version: String,
    /// The measuring tool's git commit, recorded in every row.
    pub build_commit: String,
}

/// One test's measurements, with llama-bench's field names where it has them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchRow {
    /// The measuring tool's version.
    pub tool_version: String,
    /// The measuring tool's git commit.
    pub build_commit: String,
    /// The CPU's model name (`/proc/cpuinfo`).
    pub cpu_info: String,
    /// Model file name.
    pub model_filename: String,
    /// Model file size in bytes.
    pub model_size: u64,
    /// Parameters (elements of all weight matrices).
    pub model_n_params: u64,
    /// Kernel instruction set.
    pub backend: String,
    /// Threads.
    pub n_threads: usize,
    /// Prompt tokens per forward pass (the prefill chunk).
    pub n_batch: usize,
    /// Prompt tokens (pp test) or 0.
    pub n_prompt: usize,
    /// Generated tokens (tg test) or 0, per sequence.
    pub n_gen: usize,
    /// Sequences decoded at once (1 for pp and single-sequence tg).
    pub n_seq: usize,
    /// Tokens in the cache before the test (llama-bench's `n_depth`).
    pub n_depth: usize,
    /// Test name (`pp512`, `tg128`, `tg128x8` for 8 sequences at once; ` @ d1024` after
    /// it at a depth of 1,024 tokens, as llama-bench names it).
    pub test: String,
    /// When the test started (UTC, RFC 3339).
    pub test_time: String,
    /// Mean nanoseconds per repetition.
    pub avg_ns: u64,
    /// Standard deviation of the nanoseconds per repetition.
    pub stddev_ns: u64,
    /// Mean tokens per second (every sequence's tokens counted).
    pub avg_ts: f64,
    /// Standard deviation of tokens per second.
    pub stddev_ts: f64,
    /// Tokens per second of each repetition.
    pub samples_ts: Vec<f64>,
    /// Nanoseconds of each repetition.
    pub samples_ns: Vec<u64>,
}

/// Every row plus the peak resident memory of the process.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// Measurements.
    pub rows: Vec<BenchRow>,
    /// Peak resident set size of this process (`VmHWM`), when the OS reports it.
    pub peak_rss_bytes: Option<u64>,
}

/// Runs the plan on `path`; `progress` is told each finished test.
pub fn run_bench(
    path: &Path,
    plan: &BenchPlan,
    progress: &dyn Fn(&BenchRow),
) -> Result<BenchReport> {
    let model_size = std::fs::metadata(path)?.len();
    let cpu_info = cpu_model_name().unwrap_or_default();
    let mut rows = Vec::new();
    for &threads in &plan.threads {
        let loaded = load(path, threads)?;
        let model = &loaded.model;
        let n_params: u64 = model
            .weights()
            .tensors()
            .iter()
            .map(|t| (t.rows * t.cols) as u64)
            .sum();
        let vocab = model.vocab() as u32;
        // Token ids spread over the vocabulary, fixed so runs compare.
        let tokens: Vec<u32> = (0..plan.n_prompt.max(plan.n_gen).max(plan.depth) as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) % vocab)
            .collect();
        let mut context = model.new_cache();
        if plan.depth > 0 {
            model.forward(&mut context, &tokens[..plan.depth], &[])?;
        }
        let mut tests: Vec<(String, usize, usize, usize)> = Vec::new();
        if plan.n_prompt > 0 {
            tests.push((format!("pp{}", plan.n_prompt), plan.n_prompt, 0, 1));
        }
        if plan.n_gen > 0 {
            for &seqs in &plan.parallel {
                let test = match seqs {
                    1 => format!("tg{}", plan.n_gen),
                    _ => format!("tg{}x{seqs}", plan.n_gen),
                };
                tests.push((test, 0, plan.n_gen, seqs));
            }
        }
        if plan.depth > 0 {
            for (test, ..) in &mut tests {
                test.push_str(&format!(" @ d{}", plan.depth));
            }
        }
        for (test, n_prompt, n_gen, n_seq) in tests {
            let run = || -> Result<u64> {
                let mut caches: Vec<KvCache> =
                    (0..n_seq).map(|_| context.prefix(plan.depth)).collect();
                let start = Instant::now();
                if n_prompt > 0 {
                    prompt(model, &mut caches[0], &tokens[..n_prompt])?;
                } else {
                    generate(model, &mut caches, &tokens[..n_gen])?;
                }
                Ok(start.elapsed().as_nanos() as u64)
            };
            let test_time = now_rfc3339();
            run()?;
            let samples_ns = (0..plan.repetitions.max(1))
                .map(|_| run())
                .collect::<Result<Vec<_>>>()?;
            let n = (n_prompt + n_gen * n_seq) as f64;
            let samples_ts: Vec<f64> = samples_ns.iter().map(|&ns| n / (ns as f64 / 1e9)).collect();
            let (avg_ts, stddev_ts) = mean_stddev(&samples_ts);
            let ns: Vec<f64> = samples_ns.iter().map(|&ns| ns as f64).collect();
            let (avg_ns, stddev_ns) = mean_stddev(&ns);
            let row = BenchRow {
                tool_version: plan.tool_version.clone(),
                build_commit: plan.build_commit.clone(),
                cpu_info: cpu_info.clone(),
                model_filename: path
                    .file_name()
                    .map_or_else(String::new, |f| f.to_string_lossy().into()),
                model_size,
                model_n_params: n_params,
                backend: format!("CPU ({:?})", model.isa()),
                n_threads: threads,
                n_batch: PREFILL_CHUNK,
                n_prompt,
                n_gen,
                n_seq,
                n_depth: plan.depth,
                test,
                test_time,
                avg_ns: avg_ns.round() as u64,
                stddev_ns: stddev_ns.round() as u64,
                avg_ts,
                stddev_ts,
                samples_ts,
                samples_ns,
            };
            progress(&row);
            rows.push(row);
        }
    }
    Ok(BenchReport {
        rows,
        peak_rss_bytes: peak_rss_bytes(),
    })
}

/// Prefill after `cache` (logits of the last token only, like llama-bench).
fn prompt(model: &Model, cache: &mut KvCache, tokens: &[u32]) -> Result<()> {
    model.forward(cache, tokens, &[tokens.len() - 1])?;
    Ok(())
}

/// One-token steps of every sequence of `caches` at once (sequence `s` runs `tokens`
/// rotated by `s`); one sequence is exactly one-token [`Model::forward`]s.
fn generate(model: &Model, caches: &mut [KvCache], tokens: &[u32]) -> Result<()> {
    for step in 0..tokens.len() {
        let batch: Vec<u32> = (0..caches.len())
            .map(|s| tokens[(step + s) % tokens.len()])
            .collect();
        let mut stepping: Vec<&mut KvCache> = caches.iter_mut().collect();
        model.forward_batch(&mut stepping, &batch)?;
    }
    Ok(())
}

/// Mean and sample standard deviation.
pub fn mean_stddev(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n.max(1.0);
    if xs.len() < 2 {
        return (mean, 0.0);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// The process's peak resident set size from `/proc/self/status` (Linux).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The CPU's model name from `/proc/cpuinfo` (Linux; `None` elsewhere or unreadable).
pub fn cpu_model_name() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_stddev() {
        let (m, s) = mean_stddev(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(m, 5.0);
        assert!((s - 2.138).abs() < 1e-3);
        assert_eq!(mean_stddev(&[3.0]), (3.0, 0.0));
    }

    #[test]
    fn peak_rss_is_reported_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(peak_rss_bytes().unwrap() > 1 << 20);
        }
    }
}
