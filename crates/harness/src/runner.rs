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
        info.details
            .insert("resumed_cases".into(), json!(reused_here));
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

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Mutex;

    use super::*;
    use crate::backend::OnAnswer;
    use crate::suite::{expand, parse_jsonl, Manifest, TurnSelection};
    use okla_formats::progress::NoProgress;

    /// A suite of `n` one-turn conversations (`c:1:0` … `c:n:0`) held in memory.
    fn suite(n: usize) -> Suite {
        let manifest = Manifest::parse(
            "name = \"t\"\ncases = [\"c.jsonl\"]\nschema = \"s.json\"\n[thresholds]\njson_valid = { min = 0.5, ideal = 0.9 }\n",
            Path::new("suite.toml"),
        )
        .unwrap();
        let line = "{\"messages\": [{\"role\": \"user\", \"content\": \"klk\"}, {\"role\": \"assistant\", \"content\": \"{\\\"intent\\\": \\\"Greeting\\\"}\"}]}\n";
        let conversations = parse_jsonl(&line.repeat(n), Path::new("c.jsonl")).unwrap();
        Suite {
            dir: ".".into(),
            manifest,
            schema: json!({"type": "object"}),
            cases: expand("c", &conversations, &[], TurnSelection::All),
            hash: "h".into(),
            checks: std::sync::Arc::new(
                crate::score::Checks::load(
                    &crate::score::ChecksConfig::default(),
                    &[],
                    crate::score::Origin {
                        dir: Path::new("."),
                        manifest: Path::new("suite.toml"),
                    },
                )
                .unwrap(),
            ),
        }
    }

    /// Answers every prompt with a valid object, but for the `failing` cases, whose
    /// answer is an error, and remembers which it was asked.
    struct Echo(Mutex<Vec<String>>, &'static [&'static str]);

    impl Backend for Echo {
        fn info(&self) -> BackendInfo {
            BackendInfo {
                kind: "echo".into(),
                model: "echo".into(),
                model_sha256: None,
                details: Default::default(),
            }
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::default()
        }
        fn generate(
            &mut self,
            prompts: &[Prompt<'_>],
            _: &Decoding,
            on_answer: OnAnswer<'_>,
        ) -> Result<Vec<Generation>> {
            prompts
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    self.0.lock().unwrap().push(p.case_id.to_string());
                    let answer = if self.1.contains(&p.case_id) {
                        Generation {
                            error: Some("HTTP 503: overloaded".into()),
                            ..Generation::default()
                        }
                    } else {
                        Generation {
                            text: format!("{{\"fresh\": \"{}\"}}", p.case_id),
                            ..Generation::default()
                        }
                    };
                    on_answer(i, &answer)?;
                    Ok(answer)
                })
                .collect()
        }
    }

    fn resumed(ids: &[&str]) -> Resumed {
        Resumed {
            from: "runs/earlier".into(),
            answers: ids
                .iter()
                .map(|id| {
                    let old = Generation {
                        text: format!("{{\"old\": \"{id}\"}}"),
                        ..Generation::default()
                    };
                    (id.to_string(), old)
                })
                .collect(),
        }
    }

    #[test]
    fn a_resumed_run_generates_and_journals_only_the_missing_cases() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::create(&dir.path().join("partial.jsonl"), []).unwrap();
        let mut backend = Echo(Mutex::new(Vec::new()), &[]);
        let options = RunOptions {
            resumed: Some(resumed(&["c:2:0", "c:4:0"])),
            ..RunOptions::default()
        };
        let run = run_suite(
            &suite(4),
            &mut backend,
            &options,
            &NoProgress,
            Some(&journal),
        )
        .unwrap();
        assert_eq!(*backend.0.lock().unwrap(), ["c:1:0", "c:3:0"]);
        let outputs: Vec<&str> = run.results.iter().map(|r| r.output.as_str()).collect();
        assert_eq!(
            outputs,
            [
                "{\"fresh\": \"c:1:0\"}",
                "{\"old\": \"c:2:0\"}",
                "{\"fresh\": \"c:3:0\"}",
                "{\"old\": \"c:4:0\"}"
            ]
        );
        let journaled = std::fs::read_to_string(journal.path()).unwrap();
        assert_eq!(journaled.lines().count(), 2, "{journaled}");
        assert_eq!(run.meta.backend.details["resumed_cases"], 2);
        assert_eq!(run.meta.backend.details["resumed_from"], "runs/earlier");
    }

    #[test]
    fn answers_of_another_suite_are_not_resumed() {
        let options = RunOptions {
            resumed: Some(resumed(&["c:1:0", "okla_test:7:0"])),
            ..RunOptions::default()
        };
        let mut backend = Echo(Mutex::new(Vec::new()), &[]);
        let err = run_suite(&suite(2), &mut backend, &options, &NoProgress, None).unwrap_err();
        assert!(is_input_error(&err));
        assert!(
            err.to_string()
                .contains("(e.g. okla_test:7:0): that run gated another suite"),
            "{err}"
        );
        assert!(backend.0.lock().unwrap().is_empty(), "nothing generated");
    }

    #[test]
    fn zero_cases_are_no_run_and_a_partial_one_is_never_ideal() {
        let mut backend = Echo(Mutex::new(Vec::new()), &[]);
        let zero = RunOptions {
            max_cases: Some(0),
            ..RunOptions::default()
        };
        let err = run_suite(&suite(3), &mut backend, &zero, &NoProgress, None).unwrap_err();
        assert!(is_input_error(&err), "{err}");

        let full = run_suite(
            &suite(3),
            &mut backend,
            &RunOptions::default(),
            &NoProgress,
            None,
        )
        .unwrap();
        assert_eq!(full.gate.verdicts[0].verdict.to_string(), "IDEAL");
        let two = RunOptions {
            max_cases: Some(2),
            ..RunOptions::default()
        };
        let partial = run_suite(&suite(3), &mut backend, &two, &NoProgress, None).unwrap();
        assert!(partial.gate.evidence.is_partial());
        assert_eq!(partial.gate.verdicts[0].verdict.to_string(), "PASS");
    }

    #[test]
    fn a_run_with_unanswered_cases_has_no_verdict() {
        let mut backend = Echo(Mutex::new(Vec::new()), &["c:2:0"]);
        let run = run_suite(
            &suite(3),
            &mut backend,
            &RunOptions::default(),
            &NoProgress,
            None,
        )
        .unwrap();
        assert_eq!(run.gate.outcome, crate::gate::Outcome::CouldNotEvaluate);
        assert_eq!(run.gate.outcome.exit_code(), 3);
        assert_eq!(run.gate.evidence.unanswered, 1);
        let verdict = &run.gate.verdicts[0];
        assert_eq!(verdict.verdict.to_string(), "N/A");
        assert_eq!(
            verdict.explanation,
            "not judged: the backend gave no answer to 1 of the 3 cases scored"
        );
        assert_eq!(run.results[1].class.as_str(), "backend_error");
    }
}
