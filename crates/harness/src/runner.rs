//! Running a suite: prompts → backend → scores → summary → gate verdict.
//! The result ([`Run`]) is what every report format renders.
//!
//! Every answer goes to the run's [`Journal`] the moment the backend finishes it,
//! whatever the backend, so a run that dies keeps its answers; a resumed run
//! ([`Resumed`]) generates only the cases an earlier run left unanswered.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::backend::{Backend, BackendFailure, BackendInfo, Capabilities, Generation, Prompt};
use crate::gate::{evaluate, Evidence, GateResult, Threshold};
use crate::report::Journal;
use crate::score::{summarize, CaseResult, FailureClass, Scorer, Summary};
use crate::suite::{draw_id, split_draw, Case, Decoding, Grammar, Suite};
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
    /// Answers per case (`--repeats`; 1 when every case was answered once).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub draws: u32,
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
    /// Answer every case this many times (`--repeats`), each draw with its own seeded
    /// stream; greedy decoding answers once whatever is asked (its draws are identical).
    pub repeats: Option<u32>,
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

/// Run `suite` against `backend` and judge it; `progress` counts answers (then the
/// eval-split conversations of the loss), and every
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
    let first = match options.max_cases {
        Some(0) => return Err(InputError::usage("--max-cases must be at least 1").into()),
        Some(n) => &suite.cases[..n.min(suite.cases.len())],
        None => &suite.cases[..],
    };
    let draws = draws_of(options.repeats, &decoding)?;
    let drawn = with_draws(first, draws);
    let cases: &[Case] = &drawn;
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
        (true, Some(conversations)) => {
            backend.eval_loss(&conversations, progress).map_err(|e| {
                if is_input_error(&e) {
                    e
                } else {
                    BackendFailure {
                        backend: backend.info().source(),
                        message: format!("computing the eval-split loss: {e:#}"),
                    }
                    .into()
                }
            })?
        }
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
    let evidence = Evidence::of(
        &summary,
        suite.cases.len() as u64 * u64::from(draws),
        unenforced(&results, decoding.grammar),
    );
    let gate = evaluate(&summary, &thresholds, evidence);
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
            draws,
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

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

/// How many times each case is answered: `repeats` (at least 1) when `decoding` samples,
/// once when it is greedy (every draw would be the same answer).
fn draws_of(repeats: Option<u32>, decoding: &Decoding) -> Result<u32> {
    match repeats {
        Some(0) => Err(InputError::usage("--repeats must be at least 1").into()),
        Some(n) if !decoding.is_greedy() => Ok(n),
        _ => Ok(1),
    }
}

/// `cases` answered `draws` times each: draw `k` of a case is a case of its own, with id
/// [`draw_id`]`(id, k)`, next to the case's other draws. One draw keeps the ids as they are.
fn with_draws(cases: &[Case], draws: u32) -> std::borrow::Cow<'_, [Case]> {
    if draws == 1 {
        return std::borrow::Cow::Borrowed(cases);
    }
    cases
        .iter()
        .flat_map(|case| {
            (1..=draws).map(move |draw| Case {
                id: draw_id(&case.id, draw),
                ..case.clone()
            })
        })
        .collect()
}

/// Answers of a constrained run that stopped on their own (not cut by the token cap)
/// and still break the constraint: not one JSON object (`json`), or one the schema
/// refuses (`schema`). A backend that enforces the grammar never gives one.
fn unenforced(results: &[CaseResult], grammar: Grammar) -> u64 {
    let broken = |r: &CaseResult| match grammar {
        Grammar::None => false,
        Grammar::Json => r.class != FailureClass::Valid,
        Grammar::Schema => r.class != FailureClass::Valid || !r.schema_valid,
    };
    results
        .iter()
        .filter(|r| r.error.is_none() && r.finish_reason.as_deref() != Some("length"))
        .filter(|r| broken(r))
        .count() as u64
}

/// The resumed answers this run reuses; an answer to a case `suite` does not hold means
/// the earlier run gated another suite, an input error.
fn reusable<'a>(suite: &Suite, resumed: &'a Resumed) -> Result<HashMap<String, &'a Generation>> {
    let ids: HashSet<&str> = suite.cases.iter().map(|c| c.id.as_str()).collect();
    let mut foreign: Vec<&str> = resumed
        .answers
        .keys()
        .map(String::as_str)
        .filter(|id| !ids.contains(split_draw(id).0))
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
    let started = Instant::now();
    let tokens = AtomicU64::new(0);
    let generated = backend.generate(&prompts, decoding, &|i, generation| {
        if let Some(journal) = journal {
            journal.record(prompts[i].case_id, generation)?;
        }
        let new = u64::from(generation.completion_tokens.unwrap_or(0));
        let total = tokens.fetch_add(new, Ordering::Relaxed) + new;
        if total > 0 {
            let rate = total as f64 / started.elapsed().as_secs_f64().max(1e-9);
            progress.message(&format!("{rate:.1} tokens/s generated"));
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

    /// Answers each prompt with what its function makes of the case id.
    struct Scripted(fn(&str) -> Generation);

    impl Backend for Scripted {
        fn info(&self) -> BackendInfo {
            Echo(Mutex::new(Vec::new()), &[]).info()
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
                    let answer = (self.0)(p.case_id);
                    on_answer(i, &answer)?;
                    Ok(answer)
                })
                .collect()
        }
    }

    fn said(text: &str, finish: &str) -> Generation {
        Generation {
            text: text.into(),
            finish_reason: Some(finish.into()),
            ..Generation::default()
        }
    }

    #[test]
    fn repeats_answer_every_case_per_draw_and_find_the_flaky_ones() {
        let mut backend = Scripted(|id| match id {
            "c:1:0#2" => said("klk", "stop"),
            "c:2:0#1" | "c:2:0#2" | "c:2:0#3" => said("", "stop"),
            _ => said("{\"response\": \"¡Klk!\"}", "stop"),
        });
        let sampled = RunOptions {
            decoding: Some(Decoding::production()),
            repeats: Some(3),
            ..RunOptions::default()
        };
        let run = run_suite(&suite(3), &mut backend, &sampled, &NoProgress, None).unwrap();
        let ids: Vec<&str> = run.results.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), 9);
        assert_eq!(&ids[..4], ["c:1:0#1", "c:1:0#2", "c:1:0#3", "c:2:0#1"]);
        assert_eq!(run.meta.draws, 3);
        assert_eq!(run.gate.evidence.suite_cases, 9);
        assert!(!run.gate.evidence.is_partial());
        let repeats = run.summary.repeats.as_ref().unwrap();
        assert_eq!((repeats.draws, repeats.cases), (3, 3));
        assert_eq!((repeats.pass_all.successes, repeats.pass_all.n), (1, 3));
        assert_eq!(repeats.pass_any.successes, 2);
        assert_eq!(repeats.flaky.len(), 1);
        let flaky = &repeats.flaky[0];
        assert_eq!((flaky.id.as_str(), flaky.passed), ("c:1:0", 2));
        assert_eq!(flaky.draws[1], (2, "no_json".to_string()));
        assert_eq!(flaky.draws[0].1, "passed");

        // Greedy draws would all be the same answer: one draw, whatever is asked.
        let greedy = RunOptions {
            repeats: Some(3),
            ..RunOptions::default()
        };
        let once = run_suite(&suite(3), &mut backend, &greedy, &NoProgress, None).unwrap();
        assert_eq!((once.results.len(), once.meta.draws), (3, 1));
        assert!(once.summary.repeats.is_none());
        assert_eq!(once.results[0].id, "c:1:0");
    }

    #[test]
    fn a_constrained_run_whose_answers_break_the_constraint_is_not_judged() {
        let constrained = RunOptions {
            decoding: Some(Decoding {
                grammar: Grammar::Json,
                ..Decoding::default()
            }),
            ..RunOptions::default()
        };
        // A server that ignores response_format: an answer that stopped on its own is
        // not JSON. No verdict on the model (exit 3), and the reason says so.
        let mut ignored = Scripted(|id| match id {
            "c:2:0" => said("Claro, aquí tiene: {\"intent\": \"Greeting\"}", "stop"),
            _ => said("{\"intent\": \"Greeting\"}", "stop"),
        });
        let run = run_suite(&suite(3), &mut ignored, &constrained, &NoProgress, None).unwrap();
        assert_eq!(run.gate.evidence.unenforced, 1);
        assert_eq!(run.gate.outcome, crate::gate::Outcome::CouldNotEvaluate);
        assert!(
            run.gate.verdicts[0]
                .explanation
                .contains("schema not enforced: 1 of the 3 answers"),
            "{}",
            run.gate.verdicts[0].explanation
        );
        // Cut by the token cap is the model's failure under any grammar: judged.
        let mut cut = Scripted(|id| match id {
            "c:2:0" => said("{\"intent\": \"Gree", "length"),
            _ => said("{\"intent\": \"Greeting\"}", "stop"),
        });
        let run = run_suite(&suite(3), &mut cut, &constrained, &NoProgress, None).unwrap();
        assert_eq!(run.gate.evidence.unenforced, 0);
        assert_ne!(run.gate.outcome, crate::gate::Outcome::CouldNotEvaluate);
        // The same broken answer in an unconstrained run is simply scored.
        let run = run_suite(
            &suite(3),
            &mut ignored,
            &RunOptions::default(),
            &NoProgress,
            None,
        )
        .unwrap();
        assert_eq!(run.gate.evidence.unenforced, 0);
        assert_eq!(run.results[1].class.as_str(), "prose_around");
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
