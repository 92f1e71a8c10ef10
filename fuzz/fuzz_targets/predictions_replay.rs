//! Fuzz predictions replay end to end: any bytes as a predictions file for the `mini`
//! fixture suite must be refused with located input errors (exit code 2) or replayed,
//! scored and judged without a panic; a replayed run answers every case, writes every
//! report, and its `predictions.jsonl` reads back.
//! Run: `cargo +nightly fuzz run predictions_replay` (seed corpus:
//! tests/fixtures/mini/predictions.jsonl).

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use okla_formats::error::is_input_error;
use okla_formats::progress::NoProgress;
use okla_harness::backend::replay::ReplayBackend;
use okla_harness::prediction::PredictionLine;
use okla_harness::report::{
    render_junit, render_metrics_csv, render_predictions, render_summary_md, render_terminal, Style,
};
use okla_harness::runner::{run_suite, RunOptions};
use okla_harness::suite::Suite;

/// The suite every input is replayed against.
fn suite() -> &'static Suite {
    static SUITE: OnceLock<Suite> = OnceLock::new();
    SUITE.get_or_init(|| {
        let mini = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/mini");
        Suite::load(&mini).unwrap()
    })
}

/// The predictions file of this fuzzing process.
fn file() -> &'static PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        std::env::temp_dir().join(format!(
            "okla-fuzz-predictions-{}.jsonl",
            std::process::id()
        ))
    })
}

fuzz_target!(|data: &[u8]| {
    let suite = suite();
    std::fs::write(file(), data).unwrap();
    let mut backend = match ReplayBackend::open(file(), suite) {
        Ok(backend) => backend,
        Err(e) => {
            assert!(is_input_error(&e), "not an input error: {e:#}");
            return;
        }
    };
    let run = match run_suite(
        suite,
        &mut backend,
        &RunOptions::default(),
        &NoProgress,
        None,
    ) {
        Ok(run) => run,
        Err(e) => {
            assert!(is_input_error(&e), "not an input error: {e:#}");
            return;
        }
    };
    assert_eq!(run.results.len(), suite.cases.len());
    assert!(
        run.gate.evidence.is_complete(),
        "replayed answers are never unanswered"
    );
    let written = render_predictions(&run.results).unwrap();
    for (_, line) in PredictionLine::parse_all(&written, Path::new("predictions.jsonl")) {
        line.unwrap();
    }
    render_metrics_csv(&run).unwrap();
    let _ = (render_junit(&run), render_summary_md(&run));
    let _ = render_terminal(&run, Style::Plain);
});
