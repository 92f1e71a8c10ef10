//! The command line: clap definitions and wiring, one file per subcommand.
//!
//! Exit codes: 0 pass, 1 gate failed (or regression found), 2 usage, input or output
//! error (the command could not do what was asked), 3 could not evaluate (the backend
//! failed: an outage, a timeout, an engine error; not the model's fault).

mod bench_cmd;
mod bench_render;
mod chat_cmd;
mod choice;
mod compare;
mod compare_render;
mod data;
mod export_cmd;
mod gate;
mod gate_arms;
mod generate_cmd;
mod gguf_cmd;
mod http_args;
mod progress;
mod suite_cmd;
mod tiny_cmd;
mod tokenize_cmd;
#[cfg(feature = "train")]
mod train_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use okla_harness::backend::is_backend_failure;

/// Exit code: everything passed.
pub const EXIT_PASS: u8 = 0;
/// Exit code: the gate failed or a regression was found (a verdict on the model, and
/// nothing else).
pub const EXIT_FAIL: u8 = 1;
/// Exit code: bad usage or bad input (a file, a line, a field, a flag), or an output
/// that could not be written.
pub const EXIT_INPUT: u8 = 2;
/// Exit code: the backend failed (unreachable, HTTP errors, timeouts, an engine
/// error): the model could not be evaluated.
pub const EXIT_NOT_EVALUATED: u8 = 3;

/// okla-eval: nothing ships unless it is measured the way users meet it.
#[derive(Debug, Parser)]
#[command(name = "okla-eval", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a suite against a model and gate it on thresholds (exit 0 pass, 1 fail, 2 bad
    /// input, 3 could not evaluate).
    Gate(gate::GateArgs),
    /// Compare a run with a golden snapshot or another run (exit 1 on regression).
    Compare(compare::CompareArgs),
    /// Inspect and validate suites.
    #[command(subcommand)]
    Suite(suite_cmd::SuiteCommand),
    /// Inspect and re-quantize GGUF model files.
    #[command(subcommand)]
    Gguf(gguf_cmd::GgufCommand),
    /// Dataset tools: statistics, synthetic data, lint.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Chat with a GGUF model in the terminal (native CPU engine).
    Chat(chat_cmd::ChatArgs),
    /// Measure prompt and generation speed of a GGUF model (llama-bench style).
    Bench(bench_cmd::BenchArgs),
    /// Print the token ids of a text with a GGUF model's tokenizer (llama-tokenize style).
    Tokenize(tokenize_cmd::TokenizeArgs),
    /// Continue a text greedily with a GGUF model, no chat template (llama-cli style).
    Generate(generate_cmd::GenerateArgs),
    /// Write a trained model as a quantized GGUF, only if it passes the suite's gate.
    Export(export_cmd::ExportArgs),
    /// Fine-tune a Llama or Gemma 3 model (QLoRA, LoRA or full) on chat JSONL (feature `train`).
    #[cfg(feature = "train")]
    Train(Box<train_cmd::TrainArgs>),
}

/// Parse arguments, run, and map the outcome to an exit code.
pub fn main() -> ExitCode {
    restore_default_sigpipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                EXIT_INPUT
            } else {
                EXIT_PASS
            });
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {err:#}");
            // 1 is the gate's verdict on a model, never an error's code.
            ExitCode::from(if is_backend_failure(&err) {
                EXIT_NOT_EVALUATED
            } else {
                EXIT_INPUT
            })
        }
    }
}

/// All cores the machine reports: the default thread count of the native engine.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Die quietly when stdout is a closed pipe (`okla-eval ... | head`), as Unix tools do,
/// instead of panicking inside `println!`.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called once at start-up, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Run a parsed command; returns the exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Gate(args) => gate::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Suite(cmd) => suite_cmd::run(cmd),
        Command::Gguf(cmd) => gguf_cmd::run(cmd),
        Command::Data(cmd) => data::run(cmd),
        Command::Chat(args) => chat_cmd::run(args),
        Command::Bench(args) => bench_cmd::run(args),
        Command::Export(args) => export_cmd::run(args),
        Command::Tokenize(args) => tokenize_cmd::run(args),
        Command::Generate(args) => generate_cmd::run(args),
        #[cfg(feature = "train")]
        Command::Train(args) => train_cmd::run(*args),
    }
}
