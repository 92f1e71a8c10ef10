//! Snapshot tests of every report format, on the `mini` fixture suite replayed from
//! its recorded predictions (one answer per failure mode). Run metadata that varies
//! between runs (time, durations, paths) is pinned before rendering. `report.json` is
//! the one a run folder commits, with the manifest of the folder's other files.

use std::path::Path;

use okla_formats::progress::NoProgress;
use okla_harness::backend::replay::ReplayBackend;
use okla_harness::report::{
    render_junit, render_metrics_csv, render_predictions, render_summary_md, render_terminal,
    RunFolder, Style,
};
use okla_harness::runner::{run_suite, Run, RunOptions, Timings};
use okla_harness::suite::Suite;

fn mini_run() -> Run {
    let suite = Suite::load(Path::new("tests/fixtures/mini")).unwrap();
    let mut backend =
        ReplayBackend::open(Path::new("tests/fixtures/mini/predictions.jsonl"), &suite).unwrap();
    let mut run = run_suite(
        &suite,
        &mut backend,
        &RunOptions::default(),
        &NoProgress,
        None,
    )
    .unwrap();
    run.meta.started_at = "2026-01-01T00:00:00Z".into();
    run.meta.timings = Timings::default();
    run
}

#[test]
fn terminal_table() {
    insta::assert_snapshot!(render_terminal(&mini_run(), Style::Plain));
}

#[test]
fn summary_markdown() {
    insta::assert_snapshot!(render_summary_md(&mini_run()));
}

#[test]
fn junit_xml() {
    insta::assert_snapshot!(render_junit(&mini_run()));
}

#[test]
fn metrics_csv() {
    insta::assert_snapshot!(render_metrics_csv(&mini_run()).unwrap());
}

#[test]
fn report_json() {
    let dir = tempfile::tempdir().unwrap();
    RunFolder::prepare(dir.path(), [])
        .unwrap()
        .commit(&mini_run())
        .unwrap();
    insta::assert_snapshot!(std::fs::read_to_string(dir.path().join("report.json")).unwrap());
}

#[test]
fn predictions_jsonl() {
    insta::assert_snapshot!(render_predictions(&mini_run().results).unwrap());
}

#[test]
fn junit_is_well_formed_xml() {
    let xml = render_junit(&mini_run());
    // Every opened element is closed, in order (a minimal well-formedness check).
    let mut stack: Vec<String> = Vec::new();
    for tag in xml.split('<').skip(1) {
        let body = tag.split('>').next().unwrap();
        if body.starts_with('?') {
            continue;
        }
        let name: String = body
            .trim_start_matches('/')
            .split([' ', '/'])
            .next()
            .unwrap()
            .to_string();
        if body.starts_with('/') {
            assert_eq!(
                stack.pop().as_deref(),
                Some(name.as_str()),
                "mismatched </{name}>"
            );
        } else if !body.ends_with('/') {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    assert!(xml.contains("<failure type=\"critical\""));
    assert!(
        xml.contains("name=\"cases:1:1\""),
        "each failing case is a test case"
    );
}
