//! okla-eval: an evaluation-first benchmarking harness for small-domain chatbot LLMs.
//!
//! The data flow (see `README.md` and the module docs):
//! a [`suite`] expands into cases, a [`backend`] generates an answer per case,
//! [`score`] parses and scores each answer, [`gate`] turns metrics into a
//! verdict and exit code, [`report`] writes the run folder and [`golden`]
//! compares runs against snapshots.
//!
//! The model side: [`engine`] runs GGUF Llama models on the CPU (the `gguf`
//! backend), [`gguf`] and [`quant`] read, write and quantize the files, `train`
//! (feature `train`) fine-tunes on libtorch, and [`export`] turns a training run
//! ([`hf`] folders and peft adapters) into a GGUF that is written only when the
//! suite's gate passes it.

pub mod atomic;
pub mod backend;
pub mod cli;
pub mod data;
pub mod engine;
pub mod error;
pub mod export;
pub mod gate;
pub mod gguf;
pub mod golden;
pub mod hf;
pub mod quant;
pub mod report;
pub mod rng;
pub mod runner;
pub mod score;
pub mod suite;
pub mod text;
#[cfg(feature = "train")]
pub mod train;
