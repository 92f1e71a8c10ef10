//! `okla-eval bench MODEL.gguf`: prompt-processing and generation speed (llama-bench style).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};

use okla_engine::bench::{run_bench, BenchPlan};
use okla_formats::progress::Progress;

use super::bench_render::{render_csv, render_json, render_jsonl, render_table};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchFormat {
    /// Markdown table.
    Table,
    /// JSON report.
    Json,
    /// CSV rows.
    Csv,
    /// One JSON row a line.
    Jsonl,
}

/// Arguments of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The GGUF model.
    pub model: PathBuf,
    /// Thread counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub threads: Vec<usize>,
    /// Prompt tokens of the pp test (0 skips it).
    #[arg(long = "n-prompt", short = 'p', default_value_t = 512)]
    pub n_prompt: usize,
    /// Generated tokens of the tg test (0 skips it).
    #[arg(long = "n-gen", short = 'n', default_value_t = 128)]
    pub n_gen: usize,
    /// Sequences decoded at once in the tg test, comma-separated: one test each
    /// (`tg128x8` for 8; like llama-batched-bench's `-npl`).
    #[arg(long, value_delimiter = ',', default_value = "1")]
    pub parallel: Vec<usize>,
    /// Tokens already in the cache when each test starts (llama-bench's `-d`): a prompt
    /// that long is prefilled once, untimed.
    #[arg(long = "n-depth", short = 'd', default_value_t = 0)]
    pub depth: usize,
    /// Timed repetitions per test.
    #[arg(long, short = 'r', default_value_t = 5)]
    pub repetitions: usize,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "table")]
    pub output: BenchFormat,
    /// Also write the report to this file (format from `--output`).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Run the benchmark and print the report.
pub fn run(args: BenchArgs) -> Result<u8> {
    for (flag, values) in [("--threads", &args.threads), ("--parallel", &args.parallel)] {
        if values.contains(&0) {
            let message = format!("{flag} values must be at least 1");
            return Err(okla_formats::error::InputError::usage(message).into());
        }
    }
    let plan = BenchPlan {
        threads: args.threads.clone(),
        n_prompt: args.n_prompt,
        n_gen: args.n_gen,
        parallel: args.parallel.clone(),
        depth: args.depth,
        repetitions: args.repetitions,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        build_commit: env!("OKLA_BUILD_COMMIT").into(),
    };
    let progress = super::progress::Terminal::stderr();
    let tests_per_thread_count =
        usize::from(plan.n_prompt > 0) + plan.parallel.len() * usize::from(plan.n_gen > 0);
    progress.start(
        (plan.threads.len() * tests_per_thread_count) as u64,
        "benchmarks",
    );
    let report = run_bench(&args.model, &plan, &|row| {
        progress.message(&format!(
            "{} threads {}: {:.2} t/s",
            row.n_threads, row.test, row.avg_ts
        ));
        progress.advance(1);
    });
    progress.finish();
    let report = report?;
    let text = match args.output {
        BenchFormat::Table => render_table(&report),
        BenchFormat::Json => render_json(&report)?,
        BenchFormat::Csv => render_csv(&report)?,
        BenchFormat::Jsonl => render_jsonl(&report)?,
    };
    print!("{text}");
    if let Some(out) = &args.out {
        okla_formats::atomic::write_atomic(out, text.as_bytes())?;
    }
    Ok(0)
}
