//! `okla-eval bench`: prompt processing (ppN) and generation (tgN) speed of a GGUF
//! per thread count, mean ± standard deviation over repetitions, reported like
//! llama-bench (table, JSON, CSV), plus the process's peak resident memory.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use super::loader::load;
use super::model::Model;

/// What to measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchPlan {
    /// Thread counts to try.
    pub threads: Vec<usize>,
    /// Prompt tokens processed in one batch (pp test; 0 skips it).
    pub n_prompt: usize,
    /// Tokens generated one at a time (tg test; 0 skips it).
    pub n_gen: usize,
    /// Timed repetitions per test (after one untimed warm-up).
    pub repetitions: usize,
}

/// One test's measurements.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchRow {
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
    /// Prompt tokens (pp test) or 0.
    pub n_prompt: usize,
    /// Generated tokens (tg test) or 0.
    pub n_gen: usize,
    /// Test name (`pp512`, `tg128`).
    pub test: String,
    /// Mean tokens per second.
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
        let vocab = model.config().vocab as u32;
        // Token ids spread over the vocabulary, fixed so runs compare.
        let tokens: Vec<u32> = (0..plan.n_prompt.max(plan.n_gen) as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) % vocab)
            .collect();
        let mut tests: Vec<(String, usize, usize)> = Vec::new();
        if plan.n_prompt > 0 {
            tests.push((format!("pp{}", plan.n_prompt), plan.n_prompt, 0));
        }
        if plan.n_gen > 0 {
            tests.push((format!("tg{}", plan.n_gen), 0, plan.n_gen));
        }
        for (test, n_prompt, n_gen) in tests {
            let run = || -> Result<u64> {
                let start = Instant::now();
                if n_prompt > 0 {
                    prompt(model, &tokens[..n_prompt])?;
                } else {
                    generate(model, &tokens[..n_gen])?;
                }
                Ok(start.elapsed().as_nanos() as u64)
            };
            run()?;
            let samples_ns = (0..plan.repetitions.max(1))
                .map(|_| run())
                .collect::<Result<Vec<_>>>()?;
            let n = (n_prompt + n_gen) as f64;
            let samples_ts: Vec<f64> = samples_ns.iter().map(|&ns| n / (ns as f64 / 1e9)).collect();
            let (avg_ts, stddev_ts) = mean_stddev(&samples_ts);
            let row = BenchRow {
                model_filename: path
                    .file_name()
                    .map_or_else(String::new, |f| f.to_string_lossy().into()),
                model_size,
                model_n_params: n_params,
                backend: format!("CPU ({:?})", model.isa()),
                n_threads: threads,
                n_prompt,
                n_gen,
                test,
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

/// Prefill of a fresh cache (logits of the last token only, like llama-bench).
fn prompt(model: &Model, tokens: &[u32]) -> Result<()> {
    let mut cache = model.new_cache();
    model.forward(&mut cache, tokens, &[tokens.len() - 1])?;
    Ok(())
}

/// One-token steps from an empty cache.
fn generate(model: &Model, tokens: &[u32]) -> Result<()> {
    let mut cache = model.new_cache();
    for t in tokens {
        model.forward(&mut cache, &[*t], &[0])?;
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

/// A Markdown table like llama-bench's, with a peak-RSS line.
pub fn render_table(report: &BenchReport) -> String {
    let mut out = String::from(
        "| model | size | params | backend | threads | test | t/s |\n| --- | ---: | ---: | --- | ---: | ---: | ---: |\n",
    );
    for r in &report.rows {
        out.push_str(&format!(
            "| {} | {:.2} MiB | {:.2} M | {} | {} | {} | {:.2} ± {:.2} |\n",
            r.model_filename,
            r.model_size as f64 / (1024.0 * 1024.0),
            r.model_n_params as f64 / 1e6,
            r.backend,
            r.n_threads,
            r.test,
            r.avg_ts,
            r.stddev_ts
        ));
    }
    if let Some(rss) = report.peak_rss_bytes {
        out.push_str(&format!(
            "\npeak RSS: {:.1} MiB\n",
            rss as f64 / (1024.0 * 1024.0)
        ));
    }
    out
}

/// JSON: the report object (`rows` with llama-bench's field names, `peak_rss_bytes`).
pub fn render_json(report: &BenchReport) -> String {
    serde_json::to_string_pretty(report).expect("bench report serializes") + "\n"
}

/// CSV with llama-bench's column names; `peak_rss_bytes` repeated on each row.
pub fn render_csv(report: &BenchReport) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "model_filename",
        "model_size",
        "model_n_params",
        "backend",
        "n_threads",
        "n_prompt",
        "n_gen",
        "test",
        "avg_ts",
        "stddev_ts",
        "peak_rss_bytes",
    ])?;
    for r in &report.rows {
        w.write_record([
            r.model_filename.clone(),
            r.model_size.to_string(),
            r.model_n_params.to_string(),
            r.backend.clone(),
            r.n_threads.to_string(),
            r.n_prompt.to_string(),
            r.n_gen.to_string(),
            r.test.clone(),
            format!("{:.6}", r.avg_ts),
            format!("{:.6}", r.stddev_ts),
            report
                .peak_rss_bytes
                .map_or_else(String::new, |b| b.to_string()),
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> BenchReport {
        let row = |test: &str, n_prompt, n_gen, ts: Vec<f64>| {
            let (avg_ts, stddev_ts) = mean_stddev(&ts);
            BenchRow {
                model_filename: "tiny.gguf".into(),
                model_size: 53_933_408,
                model_n_params: 66_584_576,
                backend: "CPU (Avx2)".into(),
                n_threads: 2,
                n_prompt,
                n_gen,
                test: test.into(),
                avg_ts,
                stddev_ts,
                samples_ns: vec![1, 2],
                samples_ts: ts,
            }
        };
        BenchReport {
            rows: vec![
                row("pp512", 512, 0, vec![100.0, 110.0]),
                row("tg128", 0, 128, vec![50.0, 50.0]),
            ],
            peak_rss_bytes: Some(64 << 20),
        }
    }

    #[test]
    fn mean_and_sample_stddev() {
        let (m, s) = mean_stddev(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(m, 5.0);
        assert!((s - 2.138).abs() < 1e-3);
        assert_eq!(mean_stddev(&[3.0]), (3.0, 0.0));
    }

    #[test]
    fn renderings() {
        let r = report();
        insta::assert_snapshot!("bench_table", render_table(&r));
        insta::assert_snapshot!("bench_csv", render_csv(&r).unwrap());
        let json: serde_json::Value = serde_json::from_str(&render_json(&r)).unwrap();
        assert_eq!(json["rows"][1]["test"], "tg128");
        assert_eq!(json["peak_rss_bytes"], 64 << 20);
    }

    #[test]
    fn peak_rss_is_reported_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(peak_rss_bytes().unwrap() > 1 << 20);
        }
    }
}
