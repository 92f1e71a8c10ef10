//! Running a suite: prompts → backend → scores → summary → gate verdict.
//! The result ([`Run`]) is what every report format renders.
//!
//! Every answer goes to the run's [`Journal`] the moment the backend finishes it,
//! whatever the backend, so a run that dies keeps its answers; a resumed run
//! ([`Resumed`]) generates only the cases an earlier run left unanswered.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::backend::{Backend, BackendFailure, BackendInfo, Capabilities, Generation, Prompt};
use crate::gate::{evaluate, GateResult, Threshold};
use crate::report::Journal;
use crate::score::{summarize, CaseResult, Scorer, Summary};
use crate::suite::{Case, Decoding, Suite};
use okla_formats::clock::now_rfc3339;
use okla_formats::error::{is_input_error, InputError};
use okla_formats::progress::Progress;

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
    /// Answers an earlier run gave (`--resume`): reused instead of generated.
    pub resumed: Option<Resumed>,
}

/// The answers an earlier run gave, reused by this one.
#[derive(Debug, Clone, Default)]
pub struct Resumed {
    /// The earlier run's folder (recorded as `resumed_from`).
    pub from: PathBuf,
    /// Its answers without error, by case id
    /// ([`answered_cases`](crate::report::answered_cases)).
    pub answers: HashMap<String, Generation>,
}

/// Run `suite` against `backend` and judge it; `progress` counts answers, and every
/// answer generated is appended to `journal` as soon as it is finished.
pub fn run_suite(
    suite: &Suite,
    backend: &mut dyn Backend,
    options: &RunOptions,
    progress: &dyn Progress,
    journal: Option<&Journal>,
) -> Result<Run> {
    let started_at = options.started_at.clone().unwrap_or_else(now_rfc3339);
    let decoding = options.decoding.unwrap_or(suite.manifest.decoding);
    let cases = match options.max_cases {
        Some(0) => return Err(InputError::usage("--max-cases must be at least 1").into()),
        Some(n) => &suite.cases[..n.min(suite.cases.len())],
        None => &suite.cases[..],
    };
    let reused = match &options.resumed {
        Some(resumed) => reusable(suite, resumed)?,
        None => HashMap::new(),
    };
    let scorer = Scorer::new(suite)?;

    let t0 = Instant::now();
    let generations = answer(cases, &reused, backend, &decoding, progress, journal)?;
    let generate_s = t0.elapsed().as_secs_f64();

    let t1 = Instant::now();
    let capabilities = backend.capabilities();
    let loss = match (
        capabilities.loss && !options.skip_loss,
        suite.eval_conversations()?,
    ) {
        (true, Some(conversations)) => backend.eval_loss(&conversations).map_err(|e| {
            if is_input_error(&e) {
                e
            } else {
                BackendFailure {
                    backend: backend.info().source(),
                    message: format!("computing the eval-split loss: {e:#}"),
                }
                .into()
            }
        })?,
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
    let gate = evaluate(&summary, &thresholds, suite.cases.len() as u64);
    let score_s = t2.elapsed().as_secs_f64();

    let mut info = backend.info();
    if let Some(resumed) = &options.resumed {
        let from = resumed.from.display().to_string();
        info.details.insert("resumed_from".into(), json!(from));
        let reused_here = cases.iter().filter(|c| reused.contains_key(&c.id)).count();
        info.details.insert("resumed_cases".into(), json!(reused_here));
    }
    Ok(Run {
        meta: RunMeta {
            tool: format!("okla-eval {}", env!("CARGO_PKG_VERSION")),
            started_at,
            suite: suite.manifest.name.clone(),
            suite_path: suite.dir.display().to_string(),
            suite_sha256: suite.hash.clone(),
            backend: info,
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

/// The resumed answers this run reuses; an answer to a case `suite` does not hold means
/// the earlier run gated another suite, an input error.
fn reusable<'a>(suite: &Suite, resumed: &'a Resumed) -> Result<HashMap<String, &'a Generation>> {
    let ids: HashSet<&str> = suite.cases.iter().map(|c| c.id.as_str()).collect();
    let mut foreign: Vec<&str> = resumed
        .answers
        .keys()
        .map(String::as_str)
        .filter(|id| !ids.contains(id))
        .collect();
    foreign.sort_unstable();
    if let Some(first) = foreign.first() {
        return Err(InputError::file(
            &resumed.from,
            format!(
                "answers {} cases that suite {:?} does not hold (e.g. {first}): that run gated another suite",
                foreign.len(),
                suite.manifest.name
            ),
        )
        .into());
    }
    Ok(resumed
        .answers
        .iter()
        .map(|(id, g)| (id.clone(), g))
        .collect())
}

/// One answer per case, in case order: `reused` ones as they are, the others from
/// `backend`, each journaled the moment it is finished.
fn answer(
    cases: &[Case],
    reused: &HashMap<String, &Generation>,
    backend: &mut dyn Backend,
    decoding: &Decoding,
    progress: &dyn Progress,
    journal: Option<&Journal>,
) -> Result<Vec<Generation>> {
    let todo: Vec<&Case> = cases
        .iter()
        .filter(|c| !reused.contains_key(&c.id))
        .collect();
    let prompts: Vec<Prompt<'_>> = todo
        .iter()
        .map(|c| Prompt {
            case_id: &c.id,
            messages: &c.prompt,
        })
        .collect();
    progress.start(cases.len() as u64, "generating");
    progress.advance((cases.len() - todo.len()) as u64);
    let generated = backend.generate(&prompts, decoding, &|i, generation| {
        if let Some(journal) = journal {
            journal.record(prompts[i].case_id, generation)?;
        }
        progress.advance(1);
        Ok(())
    });
    progress.finish();
    let generated = generated?;
    anyhow::ensure!(
        generated.len() == prompts.len(),
        "backend returned {} answers for {} prompts",
        generated.len(),
        prompts.len()
    );
    let mut fresh = generated.into_iter();
    Ok(cases
        .iter()
        .map(|c| match reused.get(&c.id) {
            Some(g) => (*g).clone(),
            None => fresh.next().expect("one fresh answer per case not reused"),
        })
        .collect())
}
