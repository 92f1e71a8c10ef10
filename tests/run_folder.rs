//! The run folder survives kill -9 and reruns: the native engine journals each answer as
//! it comes and `--resume` picks the run up (`--model` too), the folder is checked
//! before the first case, it is committed as a unit (a folder killed at any moment is a
//! whole run or plainly none), and nothing of an earlier run survives a new one. The
//! kills are real: `okla-eval` runs as a child process and gets SIGKILL.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use okla_harness::report::{read_report, JOURNAL_FILE};
use predicates::prelude::*;

const MINI: &str = "tests/fixtures/mini";
/// The mini suite's cases.
const MINI_CASES: usize = 6;

fn okla() -> Command {
    Command::cargo_bin("okla-eval").unwrap()
}

/// `okla-eval ARGS` as a child process of ours (to be killed), output discarded.
fn spawn(args: &[&str], run_dir: &Path) -> Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("okla-eval"))
        .args(args)
        .arg("--run-dir")
        .arg(run_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// SIGKILL, as `kill -9` sends it.
fn kill_9(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Complete lines of the journal in `dir` (0 when there is none yet).
fn journal_lines(dir: &Path) -> usize {
    fs::read_to_string(dir.join(JOURNAL_FILE)).map_or(0, |t| t.matches('\n').count())
}

/// The gate arguments of a native-engine run of the mini suite on the tiny model.
fn engine_args(model: &Path, max_new_tokens: &str) -> Vec<String> {
    ["gate", "--suite", MINI, "--model"]
        .into_iter()
        .map(String::from)
        .chain([model.display().to_string()])
        .chain(["--max-new-tokens", max_new_tokens, "--threads", "1"].map(String::from))
        .collect()
}

#[test]
fn the_native_engine_journals_each_answer_and_resumes_after_kill_9() {
    let model = common::tiny_q4_k_m();
    let args = engine_args(&model, "48");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = tempfile::tempdir().unwrap();
    let (killed, resumed, fresh) = (
        out.path().join("killed"),
        out.path().join("resumed"),
        out.path().join("fresh"),
    );

    let mut child = spawn(&args, &killed);
    let deadline = Instant::now() + Duration::from_secs(600);
    while journal_lines(&killed) == 0 {
        assert!(Instant::now() < deadline, "no answer within 10 minutes");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    kill_9(&mut child);
    let kept = journal_lines(&killed);
    assert!(
        (1..MINI_CASES).contains(&kept),
        "killed mid-run: {kept} answers journaled"
    );
    assert!(!killed.join("report.json").exists());
    okla()
        .arg("compare")
        .arg(&killed)
        .arg(&killed)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a finished run"));

    okla()
        .args(&args)
        .arg("--resume")
        .arg(&killed)
        .arg("--run-dir")
        .arg(&resumed)
        .assert()
        .code(1); // random weights: the gate fails
    let report = read_report(&resumed).unwrap();
    assert_eq!(report.meta.backend.details["resumed_cases"], kept);
    assert_eq!(
        report.meta.backend.details["resumed_from"],
        killed.display().to_string()
    );
    assert!(report.gate.evidence.is_complete());

    okla()
        .args(&args)
        .arg("--run-dir")
        .arg(&fresh)
        .assert()
        .code(1);
    assert_eq!(
        fs::read(resumed.join("predictions.jsonl")).unwrap(),
        fs::read(fresh.join("predictions.jsonl")).unwrap(),
        "a resumed run gives the answers of an uninterrupted one"
    );
}

#[test]
fn a_run_folder_that_cannot_be_written_is_refused_before_the_first_case() {
    let model = common::tiny_q4_k_m();
    // Long enough that a run reaching generation would take minutes.
    let args = engine_args(&model, "600");
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("a-file");
    fs::write(&file, "not a folder").unwrap();
    let started = Instant::now();
    okla()
        .args(&args)
        .arg("--run-dir")
        .arg(file.join("run"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("creating the run folder"));
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "refused only after generating: {:?}",
        started.elapsed()
    );

    let notes = out.path().join("mine");
    fs::create_dir(&notes).unwrap();
    fs::write(notes.join("notes.txt"), "keep me").unwrap();
    okla()
        .args(&args)
        .arg("--run-dir")
        .arg(&notes)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "not a run folder: it holds notes.txt, which no run writes",
        ));
    assert_eq!(
        fs::read_to_string(notes.join("notes.txt")).unwrap(),
        "keep me"
    );
}

/// Replay the mini suite's recorded answers into `run`.
fn replay_mini(run: &Path) {
    okla()
        .args(["gate", "--suite", MINI, "--predictions"])
        .arg(Path::new(MINI).join("predictions.jsonl"))
        .arg("--run-dir")
        .arg(run)
        .assert()
        .code(1);
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_rerun_keeps_nothing_of_the_run_before() {
    let model = common::tiny_q4_k_m();
    let args = engine_args(&model, "4");
    let out = tempfile::tempdir().unwrap();
    let run = out.path().join("run");
    okla()
        .args(&args)
        .arg("--run-dir")
        .arg(&run)
        .assert()
        .code(1);
    assert!(run.join("timings.csv").is_file());
    fs::write(run.join(".okla-tmp-Xy12ab"), "a write cut short").unwrap();

    replay_mini(&run);
    assert_eq!(
        names(&run),
        [
            "junit.xml",
            "metrics.csv",
            "predictions.jsonl",
            "report.json",
            "summary.md"
        ],
        "the engine run's timings.csv and the temp file are gone"
    );
    assert_eq!(read_report(&run).unwrap().meta.backend.kind, "replay");
}

#[test]
fn a_folder_that_is_not_one_whole_run_is_never_compared() {
    let out = tempfile::tempdir().unwrap();
    let run = out.path().join("run");
    let compare = || {
        let mut cmd = okla();
        cmd.arg("compare").arg(&run).arg(&run);
        cmd
    };
    replay_mini(&run);
    compare().assert().code(0);

    // The leftover of a kill between renames: report.json and predictions.jsonl
    // without the other reports, beside a temporary file.
    for f in ["metrics.csv", "junit.xml", "summary.md"] {
        fs::remove_file(run.join(f)).unwrap();
    }
    fs::write(run.join(".okla-tmp-Qw3rty"), "").unwrap();
    compare().assert().code(2).stderr(predicate::str::contains(
        "report.json lists it: the run folder is not whole",
    ));

    // A file of another run.
    replay_mini(&run);
    let predictions = run.join("predictions.jsonl");
    let text = fs::read_to_string(&predictions).unwrap();
    fs::write(
        &predictions,
        text.replace("\"passed\":false", "\"passed\":true"),
    )
    .unwrap();
    compare()
        .assert()
        .code(2)
        .stderr(predicate::str::contains("its sha256 differs"));

    // A run killed before its commit.
    replay_mini(&run);
    fs::remove_file(run.join("report.json")).unwrap();
    compare()
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a finished run"));
}

/// kill -9 at moments spread over a whole run (generation, scoring, writing, the
/// commit): after each, the folder is a whole run or plainly none, never a mix.
#[test]
fn kill_9_at_any_moment_leaves_a_whole_run_or_none() {
    let args = [
        "gate",
        "--predictions",
        "suites/okla/example_predictions.jsonl",
    ];
    let out = tempfile::tempdir().unwrap();
    let run: PathBuf = out.path().join("run");
    let started = Instant::now();
    okla()
        .args(args)
        .arg("--run-dir")
        .arg(&run)
        .assert()
        .code(0);
    let whole_run = started.elapsed();

    const KILLS: u32 = 24;
    let (mut whole, mut none) = (0, 0);
    for i in 0..KILLS {
        let mut child = spawn(&args, &run);
        std::thread::sleep(whole_run.mul_f64(1.2 * f64::from(i) / f64::from(KILLS)));
        kill_9(&mut child);
        if run.join("report.json").exists() {
            read_report(&run)
                .unwrap_or_else(|e| panic!("kill {i}: a report.json over a broken folder: {e:#}"));
            whole += 1;
        } else {
            okla().arg("compare").arg(&run).arg(&run).assert().code(2);
            none += 1;
        }
    }
    assert_eq!(whole + none, KILLS);
    okla()
        .args(args)
        .arg("--run-dir")
        .arg(&run)
        .assert()
        .code(0);
    read_report(&run).unwrap();
    assert!(
        names(&run).iter().all(|n| !n.starts_with(".okla-tmp-")),
        "{:?}",
        names(&run)
    );
}
