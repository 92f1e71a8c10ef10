//! `okla-eval export`: merge a trained model into a Llama or Gemma 3 GGUF, quantize it, gate
//! that very file on the suite's eval split, and write it only if it passes.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;

use okla_export::lora_file::LoraType;
use okla_export::run::{export, ExportRequest};
use okla_export::source::ModelSource;
use okla_formats::error::InputError;
use okla_formats::gguf::FileType;
use okla_formats::hf::peft::LoraAdapter;
use okla_harness::report::{render_terminal, Style};

use super::progress::Terminal;

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
    /// Folder with tokenizer.json and tokenizer_config.json [default: the base folder];
    /// for a Gemma 3 HF folder, a Gemma 3 GGUF whose SentencePiece vocabulary is copied
    /// (a GGUF base brings its own).
    #[arg(long, value_name = "DIR")]
    pub tokenizer: Option<PathBuf>,
    /// Weight types (llama-quantize's recipe).
    #[arg(long = "type", value_parser = super::choice::choice::<FileType>(), default_value = "q4_k_m")]
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
    /// Write the adapter as a GGUF LoRA (llama.cpp's `--lora` format, F16 unless
    /// `f32` is given) for the GGUF `--base`, gated with the engine applying it at run
    /// time, instead of merging it. For a base that is already quantized: merging
    /// and re-quantizing would round most of the fine-tune away.
    #[arg(long, value_name = "TYPE", num_args = 0..=1, default_missing_value = "f16")]
    pub as_lora: Option<LoraOut>,
}

/// The element type of a `--as-lora` adapter file.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LoraOut {
    /// 16-bit floats.
    F16,
    /// 32-bit floats.
    F32,
}

impl From<LoraOut> for LoraType {
    fn from(t: LoraOut) -> Self {
        match t {
            LoraOut::F16 => LoraType::F16,
            LoraOut::F32 => LoraType::F32,
        }
    }
}

/// Run `export`; returns the exit code.
pub fn run(args: ExportArgs) -> Result<u8> {
    let mut plan = resolve(&args)?;
    if let Some(dir) = &args.report_dir {
        plan.report_dir = dir.clone();
    }
    let threads = args.threads.unwrap_or_else(super::default_threads);
    plan.as_lora = args.as_lora.map(LoraType::from);
    plan.export(args.file_type, &args.out, &args.suite, args.force, threads)
}

/// The weights, the id they are recorded under, and the default report folder.
pub struct Plan {
    source: ModelSource,
    run_id: String,
    report_dir: PathBuf,
    /// Write the adapter as a GGUF LoRA of this type instead of a merged model.
    pub as_lora: Option<LoraType>,
}

impl Plan {
    /// A finished training run (see [`ModelSource::training_run`]), recorded under
    /// the run folder's name, its gate report in `RUN_DIR/export-gate`.
    pub fn training_run(run: &Path, tokenizer: Option<&Path>) -> Result<Self> {
        Ok(Plan {
            source: ModelSource::training_run(run, tokenizer)?,
            run_id: dir_name(run),
            report_dir: run.join("export-gate"),
            as_lora: None,
        })
    }

    /// Gate-then-export to `out`, showing progress and the gate's report; returns
    /// the exit code (1 when the gate refuses it).
    pub fn export(
        self,
        file_type: FileType,
        out: &Path,
        suite: &Path,
        force: bool,
        threads: usize,
    ) -> Result<u8> {
        let request = ExportRequest {
            source: self.source,
            file_type,
            out: out.to_path_buf(),
            suite: suite.to_path_buf(),
            force,
            run_id: self.run_id,
            report_dir: self.report_dir,
            threads,
            as_lora: self.as_lora,
        };
        let report = export(request, &Terminal::stderr())?;
        if let Some(run) = &report.gate {
            print!("{}", render_terminal(run, Style::detect()));
            println!("gate report: {}", report.report_dir.display());
        }
        eprintln!("{}", report.closing_line());
        Ok(report.outcome.exit_code())
    }
}

fn resolve(args: &ExportArgs) -> Result<Plan> {
    if let Some(run) = &args.run {
        return Plan::training_run(run, args.tokenizer.as_deref());
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
        report_dir: PathBuf::from(format!("{}.gate", args.out.display())),
        as_lora: None,
    })
}

/// The last component of `path`, as the id an export records.
fn dir_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
