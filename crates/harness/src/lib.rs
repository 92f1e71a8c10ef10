//! okla-harness: the evaluation layer of okla-eval, from a suite to a verdict.
//!
//! A [`suite`] expands into cases (one per assistant turn), a [`backend`] answers each
//! case (recorded predictions, an OpenAI-compatible server, or — feature `gguf` — the
//! native engine), [`score`] parses and scores every answer, [`gate`] turns the metrics
//! into a verdict and an exit code, [`runner`] drives the whole run, [`report`] writes
//! the run folder (one
//! [`prediction`] line per case) and [`golden`] compares runs with snapshots.

#![warn(missing_docs)]

pub mod arm;
pub mod backend;
pub mod gate;
pub mod golden;
pub(crate) mod locate;
pub mod prediction;
pub mod report;
pub mod runner;
pub mod score;
pub mod suite;
