//! `okla-eval export`: merge a trained model into a Llama GGUF, quantize it, gate
//! that very file on the suite's eval split, and write it only if it passes.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;

use crate::error::InputError;
use crate::export::run::{export, ExportRequest};
use crate::export::source::ModelSource;
use crate::gguf::FileType;
use crate::hf::peft::LoraAdapter;

/// Arguments of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A training run folder (its `model/` or `adapter/`, and the base named in
    /// its recipe.json).
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["adapter", "base"])]
    pub run: Option<PathBuf>,
    /// A peft LoRA adapter folder to merge into `--base`.
    #[arg(long, value_name = "DIR", requires = "base")]
    pub adapter: Option<PathBuf>,
    /// The base model: a HF folder (config.json + safetensors) or a GGUF file.
    #[arg(long, value_name = "DIR|FILE.gguf")]
    pub base: Option<PathBuf>,
    /// Folder with tokenizer.json and tokenizer_config.json [default: the base folder].
    #[arg(long, value_name = "DIR")]
    pub tokenizer: Option<PathBuf>,
    /// Weight types (llama-quantize's recipe).
    #[arg(long = "type", value_enum, default_value = "q4_k_m")]
    pub file_type: FileType,
    /// Where the GGUF goes (only if it passes the gate, or with --force).
    #[arg(long)]
    pub out: PathBuf,
    /// The suite whose eval split and thresholds judge the file.
    #[arg(long, default_value = "suites/okla")]
    pub suite: PathBuf,
    /// Export without gating; the file records `okla.gate = "skipped"`.
    #[arg(long)]
    pub force: bool,
    /// Folder for the gate's reports [default: RUN_DIR/export-gate, else OUT.gate].
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
    /// Engine threads for the gate [default: all cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// Run `export`; returns the exit code.
pub fn run(args: ExportArgs) -> Result<u8> {
    let plan = resolve(&args)?;
    let report_dir = args.report_dir.clone().unwrap_or(plan.report_dir);
    let request = ExportRequest {
        source: plan.source,
        file_type: args.file_type,
        out: args.out.clone(),
        suite: args.suite.clone(),
        force: args.force,
        run_id: plan.run_id.clone(),
        report_dir,
        threads: args
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        name: format!("okla-eval export of {}", plan.run_id),
    };
    Ok(export(request)?.exit_code())
}

/// The weights, the id they are recorded under, and the default report folder.
struct Plan {
    source: ModelSource,
    run_id: String,
    report_dir: PathBuf,
}

fn resolve(args: &ExportArgs) -> Result<Plan> {
    let beside_out = PathBuf::from(format!("{}.gate", args.out.display()));
    if let Some(run) = &args.run {
        return Ok(Plan {
            source: ModelSource::training_run(run, args.tokenizer.as_deref())?,
            run_id: dir_name(run),
            report_dir: run.join("export-gate"),
        });
    }
    let base = args.base.clone().ok_or_else(|| {
        InputError::usage("export needs --run RUN_DIR, or --base (with --adapter to merge one)")
    })?;
    let tokenizer = args.tokenizer.clone().unwrap_or_else(|| base.clone());
    let mut source = ModelSource::base(&base, &tokenizer)?;
    let run_id = match &args.adapter {
        Some(adapter) => {
            source = source.with_adapter(LoraAdapter::open(adapter)?);
            dir_name(adapter)
        }
        None => dir_name(&base),
    };
    Ok(Plan {
        source,
        run_id,
        report_dir: beside_out,
    })
}

/// The last component of `path`, as the id an export records.
pub fn dir_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
