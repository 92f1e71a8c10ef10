//! The export pipeline: write the GGUF to a hidden temporary file beside the
//! destination, gate that very file with the native engine on the suite's eval
//! split, and only when it passes restamp it with the verdict into the
//! destination (atomically). A failing file is deleted; its report stays. The gate's
//! run folder is made ready (and proven writable) before anything is written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::lora_file::{write_lora_gguf, LoraType};
use super::source::ModelSource;
use okla_formats::clock::now_rfc3339;
use okla_formats::error::InputError;
use okla_formats::gguf::restamp;
use okla_formats::gguf::{FileType, Value};
use okla_formats::progress::Progress;
use okla_harness::backend::gguf::GgufBackend;
use okla_harness::gate::Outcome;
use okla_harness::report::RunFolder;
use okla_harness::runner::{run_suite, Run, RunOptions};
use okla_harness::suite::Suite;

/// GGUF key: `pass`, `pass_with_warnings` or `skipped` (a failing file is never written).
pub const GATE_KEY: &str = "okla.gate";
/// GGUF key: sha256 of the suite the file was gated on.
pub const SUITE_HASH_KEY: &str = "okla.suite_sha256";
/// GGUF key: the suite's name.
pub const SUITE_NAME_KEY: &str = "okla.suite";
/// GGUF key: the training run (or adapter) the weights come from.
pub const RUN_ID_KEY: &str = "okla.run_id";
/// GGUF key: the gate's metric values as a JSON object.
pub const METRICS_KEY: &str = "okla.gate_metrics";

/// What to export and how.
pub struct ExportRequest {
    /// The weights.
    pub source: ModelSource,
    /// Quantization recipe.
    pub file_type: FileType,
    /// Destination GGUF.
    pub out: PathBuf,
    /// The suite whose eval split and thresholds judge the file.
    pub suite: PathBuf,
    /// Skip the gate and export anyway (recorded as `okla.gate = "skipped"`).
    pub force: bool,
    /// Recorded as `okla.run_id`.
    pub run_id: String,
    /// Where the gate's run folder goes.
    pub report_dir: PathBuf,
    /// Engine threads for the gate.
    pub threads: usize,
    /// Write the adapter as a GGUF LoRA of this type for the (GGUF) base, gated with
    /// the engine applying it at run time, instead of a merged model.
    pub as_lora: Option<LoraType>,
}

/// How an export ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportOutcome {
    /// The file passed the gate and was written.
    Exported {
        /// PASS or PASS WITH WARNINGS.
        outcome: Outcome,
    },
    /// Written without a gate (`--force`).
    Forced,
    /// The gate failed, or could not evaluate the file: nothing was written but the
    /// report.
    Refused {
        /// FAIL, or COULD NOT EVALUATE.
        outcome: Outcome,
    },
}

impl ExportOutcome {
    /// The process exit code: 0 written, else the gate's (1 failed, 3 not evaluated).
    pub fn exit_code(&self) -> u8 {
        match self {
            ExportOutcome::Refused { outcome } => outcome.exit_code(),
            _ => 0,
        }
    }
}

/// What an export did, for the caller to show.
#[derive(Debug, Clone)]
pub struct ExportReport {
    /// How it ended.
    pub outcome: ExportOutcome,
    /// The gate's run on the exported file (`None` with `--force`), its folder
    /// already written to `report_dir`.
    pub gate: Option<Run>,
    /// Where the gate's run folder is.
    pub report_dir: PathBuf,
    /// The destination GGUF (written unless refused).
    pub out: PathBuf,
    /// The suite that judged it.
    pub suite: String,
}

impl ExportReport {
    /// The last line to show: what became of the destination.
    pub fn closing_line(&self) -> String {
        let out = self.out.display();
        match &self.outcome {
            ExportOutcome::Forced => {
                format!("--force: {out} written without a gate ({GATE_KEY} = skipped)")
            }
            ExportOutcome::Refused {
                outcome: Outcome::CouldNotEvaluate,
            } => format!(
                "export refused: the engine gave no answer to some of {}'s eval cases, so the exported file could not be evaluated; nothing written to {out}",
                self.suite
            ),
            ExportOutcome::Refused { .. } => format!(
                "export refused: the exported file fails the gate on {}'s eval split; nothing written to {out}",
                self.suite
            ),
            ExportOutcome::Exported { outcome } => {
                format!("exported {out} ({GATE_KEY} = {})", verdict(*outcome))
            }
        }
    }
}

/// The outcome as report.json spells it (`pass`, `pass_with_warnings`).
fn verdict(outcome: Outcome) -> String {
    serde_json::to_value(outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Run the export: `progress` follows the writing (in tensors) then the gate (in
/// answers), and gets a note as the writing starts.
pub fn export(req: ExportRequest, progress: &dyn Progress) -> Result<ExportReport> {
    let folder = req.out.parent().filter(|p| !p.as_os_str().is_empty());
    if folder.is_some_and(|f| !f.is_dir()) {
        return Err(InputError::file(&req.out, "its folder does not exist").into());
    }
    if req.as_lora.is_some() && (req.source.adapter().is_none() || !req.source.base_is_gguf()) {
        return Err(InputError::usage(
            "--as-lora writes an adapter for a GGUF base: pass --adapter DIR (or a run with adapter/) and a GGUF --base",
        )
        .into());
    }
    let suite = Suite::load(&req.suite)?;
    let folder = if req.force {
        None
    } else {
        Some(RunFolder::prepare(&req.report_dir, [])?)
    };
    let mut stamp = vec![
        (RUN_ID_KEY.to_string(), Value::String(req.run_id.clone())),
        (
            SUITE_NAME_KEY.to_string(),
            Value::String(suite.manifest.name.clone()),
        ),
        (
            SUITE_HASH_KEY.to_string(),
            Value::String(suite.hash.clone()),
        ),
    ];
    let tmp = TempFile::beside(&req.out, progress);
    let name = format!("okla-eval export of {}", req.run_id);
    let forced_stamp: &[(String, Value)] = if req.force {
        stamp.push((GATE_KEY.to_string(), Value::String("skipped".into())));
        &stamp
    } else {
        &[]
    };
    let target = if req.force { &req.out } else { &tmp.0 };
    match (req.as_lora, req.source.adapter()) {
        (Some(ty), Some(adapter)) => {
            progress.note(&format!(
                "writing a {} GGUF LoRA for {}",
                ty.label(),
                req.source.origin.display()
            ));
            write_lora_gguf(
                &req.source,
                adapter,
                target,
                &name,
                ty,
                forced_stamp,
                progress,
            )?;
        }
        _ => {
            let mut metadata = req.source.metadata(&name, req.file_type);
            for (k, v) in forced_stamp {
                metadata.insert(k.clone(), v.clone());
            }
            progress.note(&format!(
                "writing {} GGUF from {}{}",
                req.file_type.label(),
                req.source.origin.display(),
                match req.source.merged_modules() {
                    0 => String::new(),
                    n => format!(" with a LoRA adapter merged into {n} weights"),
                }
            ));
            req.source
                .write(target, metadata, req.file_type, progress)?;
        }
    }
    let mut report = ExportReport {
        outcome: ExportOutcome::Forced,
        gate: None,
        report_dir: req.report_dir.clone(),
        out: req.out.clone(),
        suite: suite.manifest.name.clone(),
    };
    let Some(folder) = folder else {
        return Ok(report);
    };

    let suite = suite.on_eval_split()?;
    let mut backend = match req.as_lora {
        Some(_) => GgufBackend::open_with_lora(&req.source.origin, Some(&tmp.0), req.threads)?,
        None => GgufBackend::open(&tmp.0, req.threads)?,
    }
    .with_response_schema(suite.schema.clone(), suite.dir.join(&suite.manifest.schema));
    let options = RunOptions {
        threshold_overrides: BTreeMap::new(),
        decoding: Some(suite.manifest.decoding),
        max_cases: None,
        repeats: None,
        skip_loss: false,
        started_at: Some(now_rfc3339()),
        resumed: None,
    };
    let mut run = run_suite(
        &suite,
        &mut backend,
        &options,
        progress,
        Some(folder.journal()),
    )?;
    drop(backend);
    // The gated bytes become the destination (sha256 is of the file before stamping).
    run.meta.backend.model = req.out.display().to_string();
    folder.commit(&run)?;
    let outcome = run.gate.outcome;
    if matches!(outcome, Outcome::Fail | Outcome::CouldNotEvaluate) {
        report.outcome = ExportOutcome::Refused { outcome };
        report.gate = Some(run);
        return Ok(report);
    }
    let metrics: serde_json::Map<String, serde_json::Value> = run
        .gate
        .verdicts
        .iter()
        .filter_map(|v| v.value.map(|x| (v.metric.clone(), serde_json::json!(x))))
        .collect();
    stamp.push((GATE_KEY.to_string(), Value::String(verdict(outcome))));
    stamp.push((
        METRICS_KEY.to_string(),
        Value::String(serde_json::Value::Object(metrics).to_string()),
    ));
    restamp(&tmp.0, &req.out, &stamp)?;
    report.outcome = ExportOutcome::Exported { outcome };
    report.gate = Some(run);
    Ok(report)
}

/// A hidden file beside the destination, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    /// `.NAME.gating-PID` beside `out`; first removes such files of exports that
    /// were killed before they could clean up (their process no longer exists),
    /// noting each on `progress`.
    fn beside(out: &Path, progress: &dyn Progress) -> Self {
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "export.gguf".into());
        let dir = out.parent().unwrap_or(Path::new("."));
        let prefix = format!(".{name}.gating-");
        remove_stale(dir, &prefix, progress);
        TempFile(dir.join(format!("{prefix}{}", std::process::id())))
    }
}

/// Removes `dir/PREFIX<pid>` files whose process is gone (Linux: no `/proc/<pid>`;
/// elsewhere nothing is removed).
fn remove_stale(dir: &Path, prefix: &str, progress: &dyn Progress) {
    let proc_fs = Path::new("/proc");
    if !proc_fs.join("self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !proc_fs.join(pid.to_string()).exists() && std::fs::remove_file(entry.path()).is_ok() {
            progress.note(&format!(
                "removed {}, left by an export that was killed",
                entry.path().display()
            ));
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
