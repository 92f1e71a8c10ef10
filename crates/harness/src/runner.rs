//! Running a suite: prompts → backend → scores → summary → gate verdict.
//! The result ([`Run`]) is what every report format renders.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use okla_formats::clock::now_rfc3339;

use anyhow::Result;
use okla_formats::progress::Progress;
use serde::{Deserialize, Serialize};

use crate::backend::{Backend, BackendInfo, Capabilities, Prompt};
use crate::gate::{evaluate, GateResult, Threshold};
use crate::score::{summarize, CaseResult, Scorer, Summary};
use crate::suite::{Decoding, Suite};

/// Everything that identifies a run, recorded in `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    /// The tool and its version.
    pub tool: String,
    /// When the run started (UTC, RFC 3339).
    pub started_at: String,
    /// Suite name.
    pub suite: String,
    /// Suite folder as given.
    pub suite_path: String,
    /// sha256 of the suite's manifest and files.
    pub suite_sha256: String,
    /// Who answered.
    pub backend: BackendInfo,
    /// What the backend could measure.
    pub capabilities: Capabilities,
    /// Decoding settings used.
    pub decoding: Decoding,
    /// Thresholds applied (suite defaults with command-line overrides).
    pub thresholds: BTreeMap<String, Threshold>,
    /// Wall-clock seconds per phase.
    pub timings: Timings,
}

/// Wall-clock seconds spent in each phase of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Generating answers.
    pub generate_s: f64,
    /// Teacher-forced loss on the eval split.
    pub loss_s: f64,
    /// Scoring and aggregation.
    pub score_s: f64,
}

/// A finished run: metadata, per-case results, summary and gate verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// What was run, on what, how.
    pub meta: RunMeta,
    /// The summary over all cases.
    pub summary: Summary,
    /// The gate's judgement.
    pub gate: GateResult,
    /// One result per case, in suite order.
    #[serde(skip)]
    pub results: Vec<CaseResult>,
}

/// Options of a run beyond the suite and backend.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Threshold overrides (replace the suite's rule for that metric).
    pub threshold_overrides: BTreeMap<String, Threshold>,
    /// Decoding override (else the suite's).
    pub decoding: Option<Decoding>,
    /// Score only the first N cases (quick checks).
    pub max_cases: Option<usize>,
    /// Skip the eval-split loss even when the backend can compute it.
    pub skip_loss: bool,
    /// The start time to record (RFC 3339), when the caller already fixed it (e.g. to
    /// name the run folder); else the time `run_suite` is called.
    pub started_at: Option<String>,
}

/// Run `suite` against `backend` and judge it; `progress` counts generated answers.
pub fn run_suite(
    suite: &Suite,
    backend: &mut dyn Backend,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Result<Run> {
    let started_at = options.started_at.clone().unwrap_or_else(now_rfc3339);
    let decoding = options.decoding.unwrap_or(suite.manifest.decoding);
    let cases = match options.max_cases {
        Some(n) => &suite.cases[..n.min(suite.cases.len())],
        None => &suite.cases[..],
    };
    let scorer = Scorer::new(suite)?;

    let t0 = Instant::now();
    let prompts: Vec<Prompt<'_>> = cases
        .iter()
        .map(|c| Prompt {
            case_id: &c.id,
            messages: &c.prompt,
        })
        .collect();
    progress.start(prompts.len() as u64, "generating");
    // Backends report how many answers are finished so far; the progress counts steps.
    let reported = AtomicU64::new(0);
    let generations = backend.generate(&prompts, &decoding, &|done| {
        let before = reported.fetch_max(done as u64, Ordering::Relaxed);
        if done as u64 > before {
            progress.advance(done as u64 - before);
        }
    });
    progress.finish();
    let generations = generations?;
    anyhow::ensure!(
        generations.len() == prompts.len(),
        "backend returned {} answers for {} prompts",
        generations.len(),
        prompts.len()
    );
    let generate_s = t0.elapsed().as_secs_f64();

    let t1 = Instant::now();
    let capabilities = backend.capabilities();
    let loss = match (
        capabilities.loss && !options.skip_loss,
        suite.eval_conversations()?,
    ) {
        (true, Some(conversations)) => backend.eval_loss(&conversations)?,
        _ => None,
    };
    let loss_s = t1.elapsed().as_secs_f64();

    let t2 = Instant::now();
    let results: Vec<CaseResult> = cases
        .iter()
        .zip(&generations)
        .map(|(case, generation)| scorer.score(case, generation))
        .collect();
    let summary = summarize(&results, loss);
    let mut thresholds = suite.manifest.thresholds.clone();
    thresholds.extend(options.threshold_overrides.clone());
    let gate = evaluate(&summary, &thresholds);
    let score_s = t2.elapsed().as_secs_f64();

    Ok(Run {
        meta: RunMeta {
            tool: format!("okla-eval {}", env!("CARGO_PKG_VERSION")),
            started_at,
            suite: suite.manifest.name.clone(),
            suite_path: suite.dir.display().to_string(),
            suite_sha256: suite.hash.clone(),
            backend: backend.info(),
            capabilities,
            decoding,
            thresholds,
            timings: Timings {
                generate_s,
                loss_s,
                score_s,
            },
        },
        summary,
        gate,
        results,
    })
}
