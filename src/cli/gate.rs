//! `okla-eval gate`: run a suite against a model, judge it, write the run folder,
//! exit 0 (pass, maybe with warnings), 1 (a critical metric failed), 2 (bad usage,
//! input or output) or 3 (the backend failed: could not evaluate).
//!
//! The run folder is made ready before the first case (created, emptied of an earlier
//! run's files, its journal open), takes every answer in its journal as it comes, and is
//! committed as a unit at the end (`report.json` last). `--resume RUN_DIR` reuses the
//! answers an earlier run of any backend left there.
//!
//! The backend is chosen by `--backend`, or inferred: `--endpoint` → http,
//! `--model FILE.gguf` → gguf, `--predictions FILE` → replay. With none of them the
//! suite's `default_model` runs on the native engine, or, for a suite without one,
//! its shipped example predictions are replayed.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use anyhow::Result;
use clap::{Args, ValueEnum};
use sha2::{Digest, Sha256};

use super::http_args::HttpArgs;
use okla_formats::clock::now_rfc3339;
use okla_formats::error::InputError;
use okla_formats::hash::hex;
use okla_harness::arm::Arm;
use okla_harness::backend::gguf::{GgufBackend, Schedule};
use okla_harness::backend::http::HttpBackend;
use okla_harness::backend::replay::ReplayBackend;
use okla_harness::backend::Backend;
use okla_harness::gate::{check_threshold, Outcome, Threshold};
use okla_harness::report::{
    answered_cases, evidence_note, render_terminal, run_folder, RunFolder, Style, SUMMARY_MD,
};
use okla_harness::runner::{run_suite, Resumed, RunOptions};
use okla_harness::suite::{Grammar, Suite};

/// The example predictions a suite may ship, replayed when no model is given.
pub const EXAMPLE_PREDICTIONS: &str = "example_predictions.jsonl";

/// Which backend answers the suite's prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// Recorded answers from a predictions JSONL (`--predictions`).
    Replay,
    /// A GGUF file on the native CPU engine (`--model FILE.gguf`).
    Gguf,
    /// An OpenAI-compatible server (`--endpoint URL`).
    Http,
}

/// Decoding presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DecodingPreset {
    /// The suite's settings (greedy for gating: deterministic).
    Suite,
    /// OKLA's production settings: temperature 0.3, top_p 0.9, repetition penalty 1.15.
    Production,
}

/// What constrains answers while they are generated (`--grammar`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GrammarArg {
    /// The suite's JSON Schema.
    Schema,
    /// Any JSON object.
    Json,
    /// Nothing.
    None,
}

impl From<GrammarArg> for Grammar {
    fn from(arg: GrammarArg) -> Grammar {
        match arg {
            GrammarArg::Schema => Grammar::Schema,
            GrammarArg::Json => Grammar::Json,
            GrammarArg::None => Grammar::None,
        }
    }
}

/// Arguments of `okla-eval gate`.
#[derive(Debug, Args)]
pub struct GateArgs {
    /// The suite folder (or its suite.toml).
    #[arg(long, default_value = "suites/okla")]
    pub suite: PathBuf,
    /// Which backend answers (inferred from the other flags when left out).
    #[arg(long, value_enum)]
    pub backend: Option<BackendKind>,
    /// The model: a GGUF file (gguf backend) or the served model name (http backend).
    #[arg(long, value_name = "FILE|NAME")]
    pub model: Option<String>,
    /// A GGUF LoRA adapter applied at run time on top of `--model` (gguf backend;
    /// llama.cpp's `--lora`) [default: the suite's `default_lora` when the suite's
    /// default model runs].
    #[arg(long, value_name = "FILE.gguf")]
    pub lora: Option<PathBuf>,
    /// Recorded answers to score (replay backend): a JSONL with `id` and `output` per line.
    #[arg(long, value_name = "FILE")]
    pub predictions: Option<PathBuf>,
    /// Threads of the native engine (gguf backend) [default: all cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Answers the native engine decodes at once in one session, like llama-server's
    /// `--parallel` (gguf backend; 1 is one at a time) [default: 8 for files of 1 GiB or
    /// more; smaller files run conversations side by side, one per thread].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub slots: Option<u16>,
    /// HTTP backend settings.
    #[command(flatten)]
    pub http: HttpArgs,
    /// Decoding settings: the suite's (greedy, for gating) or OKLA production sampling
    /// [default: suite].
    #[arg(long, value_enum)]
    pub decoding: Option<DecodingPreset>,
    /// Constrain answers while they are generated: to the suite's JSON Schema, to any
    /// JSON object, or not at all [default: the suite's `[decoding] grammar`, none].
    #[arg(long, value_enum)]
    pub grammar: Option<GrammarArg>,
    /// Decoding arms to run and score side by side, comma-separated: `suite`, `greedy` or
    /// `production`, each with an optional `+json` or `+schema` (e.g.
    /// `greedy,production,production+schema`). Each arm is a run folder of its own under
    /// `arms/`; the gate fails when any arm fails [default: the suite's `arms`, else one
    /// arm from --decoding and --grammar].
    #[arg(long, value_delimiter = ',', value_name = "ARM,...")]
    pub arms: Vec<String>,
    /// Answer every case N times where decoding samples, each draw with its own seeded
    /// stream (same seed, same answers): pass rate over draws, pass^N and the flaky cases
    /// are reported. Greedy arms answer once.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub repeats: Option<u32>,
    /// Cap the new tokens per answer (default: the suite's `max_new_tokens`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_new_tokens: Option<u32>,
    /// Override a threshold: METRIC=min:VALUE[:IDEAL][:critical] or METRIC=max:... (repeatable).
    #[arg(long = "threshold", value_name = "RULE")]
    pub thresholds: Vec<String>,
    /// Folder under which the run folder `<utc-time>-<model-hash>/` is created.
    #[arg(long, default_value = "runs")]
    pub out_dir: PathBuf,
    /// Write the reports into exactly this folder instead.
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// Score only the first N cases: a quick look, reported as a partial run that never
    /// earns IDEAL and cannot be blessed as a golden snapshot.
    #[arg(long, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_cases: Option<usize>,
    /// Reuse the answers an earlier run folder holds (finished, or cut short: its
    /// partial.jsonl journal) and generate only the missing cases; any backend.
    #[arg(long, value_name = "RUN_DIR")]
    pub resume: Option<PathBuf>,
    /// Skip the eval-split loss and perplexity even when the backend can compute them.
    #[arg(long)]
    pub skip_loss: bool,
}

/// Run `okla-eval gate`: parse → resolve the plan → open the backend and the run folder
/// → run → commit the folder → render.
pub fn run(args: GateArgs) -> Result<u8> {
    let threshold_overrides = parse_overrides(&args.thresholds)?;
    let suite = Suite::load(&args.suite)?;
    let mut plan = GatePlan::resolve(&args, &suite, threshold_overrides)?;
    // Read before the run folder is prepared: it may be the folder being resumed.
    plan.options.resumed = match &args.resume {
        Some(from) => Some(Resumed {
            from: from.clone(),
            answers: answered_cases(from)?,
        }),
        None => None,
    };

    let (mut backend, dir) = plan.open(&suite)?;
    if plan.arms.len() > 1 {
        return super::gate_arms::run_arms(
            &suite,
            backend.as_mut(),
            &plan.arms,
            &plan.options,
            &dir,
            args.resume.as_deref(),
        );
    }
    let folder = RunFolder::prepare(&dir, journal_seed(plan.options.resumed.as_ref()))?;
    let run = run_suite(
        &suite,
        backend.as_mut(),
        &plan.options,
        &super::progress::Terminal::stderr(),
        Some(folder.journal()),
    )?;
    folder.commit(&run)?;

    print!("{}", render_terminal(&run, Style::detect()));
    println!("reports: {}", dir.display());
    append_step_summary(&dir.join(SUMMARY_MD));
    match run.gate.outcome {
        Outcome::PassWithWarnings => eprintln!(
            "warning: non-critical metrics failed (see above); the gate passes but this model is not at target"
        ),
        Outcome::CouldNotEvaluate => {
            if let Some(note) = evidence_note(&run) {
                eprintln!("error: {note}");
            }
            eprintln!(
                "the answers it gave are kept in {}: fix the backend, then rerun with --resume {}",
                dir.display(),
                dir.display()
            );
        }
        Outcome::Pass | Outcome::Fail => {}
    }
    Ok(run.gate.outcome.exit_code())
}

/// Everything a gate run needs, resolved once from the arguments and the suite.
struct GatePlan<'a> {
    /// The backend and its inputs.
    source: Source<'a>,
    /// `--run-dir`, when given.
    run_dir: Option<&'a Path>,
    /// `--out-dir`, under which the run folder is otherwise created.
    out_dir: &'a Path,
    /// Start time, decoding (the first arm's), thresholds, case limit, repeats, loss,
    /// resumed answers.
    options: RunOptions,
    /// The decoding arms (one, unless `--arms` or the suite names several).
    arms: Vec<Arm>,
}

/// Which backend answers, with its inputs.
enum Source<'a> {
    /// Recorded answers.
    Replay { predictions: PathBuf },
    /// A GGUF file on the native engine, with an optional GGUF LoRA applied at run time.
    Gguf {
        model: PathBuf,
        lora: Option<PathBuf>,
        threads: usize,
        slots: Option<usize>,
    },
    /// An OpenAI-compatible server serving `model`.
    Http {
        http: &'a HttpArgs,
        model: Option<&'a str>,
    },
}

impl<'a> GatePlan<'a> {
    fn resolve(
        args: &'a GateArgs,
        suite: &Suite,
        threshold_overrides: BTreeMap<String, Threshold>,
    ) -> Result<Self> {
        let started_at = now_rfc3339();
        let kind = backend_kind(args, suite);
        let arms = resolve_arms(args, suite, kind)?;
        let source = match kind {
            BackendKind::Replay => Source::Replay {
                predictions: match &args.predictions {
                    Some(p) => p.clone(),
                    None => example_predictions(suite)?,
                },
            },
            BackendKind::Gguf => {
                let (model, lora) = gguf_model(args, suite)?;
                Source::Gguf {
                    model,
                    lora,
                    threads: args.threads.unwrap_or_else(super::default_threads),
                    slots: args.slots.map(usize::from),
                }
            }
            BackendKind::Http => Source::Http {
                http: &args.http,
                model: args.model.as_deref(),
            },
        };
        if args.lora.is_some() && !matches!(source, Source::Gguf { .. }) {
            return Err(InputError::usage(
                "--lora applies an adapter on the native engine: it needs --model FILE.gguf",
            )
            .into());
        }
        if matches!(source, Source::Replay { .. }) && arms.len() > 1 {
            return Err(InputError::usage(
                "recorded predictions are the answers of one decoding: replay them with one arm",
            )
            .into());
        }
        Ok(Self {
            source,
            run_dir: args.run_dir.as_deref(),
            out_dir: &args.out_dir,
            options: RunOptions {
                max_cases: args.max_cases,
                threshold_overrides,
                decoding: Some(arms[0].decoding),
                repeats: args.repeats,
                skip_loss: args.skip_loss,
                started_at: Some(started_at),
                resumed: None,
            },
            arms,
        })
    }

    /// Open the backend and name the run folder after what is gated: the model or
    /// predictions file's sha256, for a served model the sha256 of its endpoint and name.
    fn open(&self, suite: &Suite) -> Result<(Box<dyn Backend>, PathBuf)> {
        let backend: Box<dyn Backend> = match &self.source {
            Source::Replay { predictions } => Box::new(ReplayBackend::open(predictions, suite)?),
            Source::Gguf {
                model,
                lora,
                threads,
                slots,
            } => {
                let mut backend = GgufBackend::open_with_lora(model, lora.as_deref(), *threads)?
                    .with_response_schema(
                        suite.schema.clone(),
                        suite.dir.join(&suite.manifest.schema),
                    );
                if let Some(slots) = *slots {
                    backend = backend.with_schedule(Schedule::Slots(slots));
                }
                Box::new(backend)
            }
            Source::Http { http, model } => {
                let identity = format!(
                    "{} {}",
                    http.endpoint.as_deref().unwrap_or(""),
                    model.unwrap_or("")
                );
                let dir = self.run_folder(Some(&hex(&Sha256::digest(identity.as_bytes()))));
                let options = http.to_options(&suite.schema, *model)?;
                return Ok((Box::new(HttpBackend::connect(options)?), dir));
            }
        };
        let dir = self.run_folder(backend.info().model_sha256.as_deref());
        Ok((backend, dir))
    }

    fn run_folder(&self, model_sha256: Option<&str>) -> PathBuf {
        let started_at = self.options.started_at.as_deref().unwrap_or_default();
        run_folder(self.run_dir, self.out_dir, started_at, model_sha256)
    }
}

/// The answers a resumed run reuses, as the journal's first lines.
pub fn journal_seed(
    resumed: Option<&Resumed>,
) -> impl Iterator<Item = (&str, &okla_harness::backend::Generation)> {
    resumed.into_iter().flat_map(|r| {
        r.answers
            .iter()
            .map(|(id, generation)| (id.as_str(), generation))
    })
}

/// The arms to run: `--arms`; else the suite's `arms` unless --decoding or --grammar
/// asks for one decoding, or recorded answers are replayed (they are one decoding's);
/// else that one arm (`suite` or `production`, with the grammar
/// of --grammar, of `--response-format-schema`, or of the suite's decoding). Every arm's
/// token cap is --max-new-tokens when given.
fn resolve_arms(args: &GateArgs, suite: &Suite, kind: BackendKind) -> Result<Vec<Arm>> {
    let one_decoding = args.decoding.is_some() || args.grammar.is_some();
    if !args.arms.is_empty() && one_decoding {
        return Err(InputError::usage(
            "--arms names every decoding of the run: give it, or --decoding/--grammar, not both",
        )
        .into());
    }
    let specs: Vec<String> = if !args.arms.is_empty() {
        args.arms.clone()
    } else if !suite.manifest.arms.is_empty() && !one_decoding && kind != BackendKind::Replay {
        suite.manifest.arms.clone()
    } else {
        let base = match args.decoding.unwrap_or(DecodingPreset::Suite) {
            DecodingPreset::Suite => "suite",
            DecodingPreset::Production => "production",
        };
        let grammar = match (args.grammar, args.http.response_format_schema) {
            (Some(g), _) => Grammar::from(g),
            (None, Some(_)) => Grammar::Schema,
            (None, None) => Grammar::None,
        };
        vec![match grammar {
            Grammar::None => base.to_string(),
            g => format!("{base}+{}", g.as_str()),
        }]
    };
    let mut arms = Arm::parse_all(&specs, &suite.manifest.decoding)
        .map_err(|why| InputError::usage(format!("--arms: {why}")))?;
    if let Some(cap) = args.max_new_tokens {
        for arm in &mut arms {
            arm.decoding.max_new_tokens = cap;
        }
    }
    Ok(arms)
}

fn parse_overrides(specs: &[String]) -> Result<BTreeMap<String, Threshold>> {
    let mut out = BTreeMap::new();
    for spec in specs {
        let (name, rule) = Threshold::parse_override(spec).map_err(InputError::usage)?;
        check_threshold(&name, &rule)
            .map_err(|e| InputError::usage(format!("--threshold {spec}: {e}")))?;
        out.insert(name, rule);
    }
    Ok(out)
}

fn backend_kind(args: &GateArgs, suite: &Suite) -> BackendKind {
    match args.backend {
        Some(kind) => kind,
        None if args.http.endpoint.is_some() => BackendKind::Http,
        None if args.model.is_some() => BackendKind::Gguf,
        None if args.predictions.is_some() => BackendKind::Replay,
        None if suite.manifest.default_model.is_some() => BackendKind::Gguf,
        None => BackendKind::Replay,
    }
}

/// `--model` with `--lora`, else the suite's `default_model` with its `default_lora`
/// (each of which must exist).
fn gguf_model(args: &GateArgs, suite: &Suite) -> Result<(PathBuf, Option<PathBuf>)> {
    if let Some(model) = &args.model {
        return Ok((PathBuf::from(model), args.lora.clone()));
    }
    let Some(default) = &suite.manifest.default_model else {
        return Err(InputError::usage("--backend gguf needs --model FILE.gguf").into());
    };
    let model = suite_file(suite, default, "default_model")?;
    let lora = match (&args.lora, &suite.manifest.default_lora) {
        (Some(lora), _) => Some(lora.clone()),
        (None, Some(default)) => Some(suite_file(suite, default, "default_lora")?),
        (None, None) => None,
    };
    match &lora {
        Some(lora) => eprintln!(
            "no model given: gating the suite's default model {} with its LoRA {}",
            model.display(),
            lora.display()
        ),
        None => eprintln!(
            "no model given: gating the suite's default model {}",
            model.display()
        ),
    }
    Ok((model, lora))
}

/// The file `relative` names from the suite folder (manifest key `field`), which must
/// exist; written plainly when it lies inside the current folder.
fn suite_file(suite: &Suite, relative: &str, field: &str) -> Result<PathBuf> {
    let path = suite.dir.join(relative);
    if !path.is_file() {
        return Err(InputError::file(
            suite.dir.join("suite.toml"),
            format!(
                "the {} {} is missing (a set-up script under scripts/setup/ may fetch it)",
                field.replace('_', " "),
                path.display()
            ),
        )
        .with_field(field)
        .into());
    }
    Ok(tidy_path(path))
}

/// `path` written plainly (`suites/okla/../../models/m.gguf` → `models/m.gguf`) when it
/// lies inside the current folder and the plain form names the same file; else `path`.
fn tidy_path(path: PathBuf) -> PathBuf {
    let Ok(cwd) = std::env::current_dir() else {
        return path;
    };
    let mut plain = PathBuf::new();
    for part in cwd.join(&path).components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                plain.pop();
            }
            other => plain.push(other),
        }
    }
    let same_file = |a: &Path, b: &Path| matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b);
    match plain.strip_prefix(&cwd) {
        Ok(inside) if !inside.as_os_str().is_empty() && same_file(inside, &path) => {
            inside.to_path_buf()
        }
        _ => path,
    }
}

fn example_predictions(suite: &Suite) -> Result<PathBuf> {
    let example = suite.dir.join(EXAMPLE_PREDICTIONS);
    if !example.exists() {
        return Err(InputError::usage(
            "no model given: pass --model FILE.gguf, --endpoint URL or --predictions FILE",
        )
        .into());
    }
    eprintln!(
        "no model given: replaying the suite's example predictions {}",
        example.display()
    );
    Ok(example)
}

/// In GitHub Actions, append the Markdown summary to the job's step summary.
pub fn append_step_summary(summary: &Path) {
    let Some(target) = std::env::var_os("GITHUB_STEP_SUMMARY") else {
        return;
    };
    let appended = std::fs::read_to_string(summary).and_then(|md| {
        use std::io::Write;
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&target)?
            .write_all(md.as_bytes())
    });
    if let Err(e) = appended {
        eprintln!("warning: could not append to GITHUB_STEP_SUMMARY: {e}");
    }
}
