//! What production serves, measured: decoding arms side by side (each a run folder of
//! its own), repeated seeded draws (reproducible; flaky cases found), and a server that
//! does not enforce the schema it was asked for, reported instead of scored.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use okla_harness::gate::Outcome;
use okla_harness::report::arms::{worst_outcome, ArmsReport};
use okla_harness::report::read_report;

const OKLA_TINY: &str = "models/okla-tiny/okla-tiny-q4_k_m.gguf";

fn okla() -> Command {
    let mut cmd = Command::cargo_bin("okla-eval").unwrap();
    cmd.env("NO_COLOR", "1");
    cmd
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn arms_are_scored_side_by_side_each_in_a_run_folder_of_its_own() {
    let out = tempfile::tempdir().unwrap();
    let root = out.path().join("run");
    let assert = okla()
        .args([
            "gate",
            "--model",
            OKLA_TINY,
            "--threads",
            "2",
            "--skip-loss",
        ])
        .args([
            "--arms",
            "greedy,production",
            "--max-cases",
            "3",
            "--run-dir",
        ])
        .arg(&root)
        .assert();
    let output = assert.get_output();
    let stdout = String::from_utf8_lossy(&output.stdout);

    let index: ArmsReport = serde_json::from_str(&read(&root.join("report.json"))).unwrap();
    assert_eq!(index.kind, "arms");
    let names: Vec<&str> = index.arms.iter().map(|a| a.arm.name.as_str()).collect();
    assert_eq!(names, ["greedy", "production"]);
    assert_eq!(index.arms[1].arm.decoding.temperature, 0.3);
    // Each arm is a whole run folder; the run's verdict and exit code are the worst arm's.
    let greedy = read_report(&root.join("arms/greedy")).unwrap();
    let production = read_report(&root.join("arms/production")).unwrap();
    assert!(greedy.meta.decoding.is_greedy() && !production.meta.decoding.is_greedy());
    let worst = worst_outcome([greedy.gate.outcome, production.gate.outcome]);
    assert_eq!(index.outcome, worst);
    assert_eq!(output.status.code(), Some(i32::from(worst.exit_code())));
    assert!(
        stdout.contains(&format!("GATE {}\n", worst.label())),
        "{stdout}"
    );
    assert!(
        stdout.contains("GATE ") && stdout.contains(" [production]"),
        "{stdout}"
    );
    // The root's reports hold both arms.
    let csv = read(&root.join("metrics.csv"));
    assert!(csv.starts_with("arm,metric,value,"), "{csv}");
    assert!(csv.contains("\ngreedy,json_valid,") && csv.contains("\nproduction,json_valid,"));
    let junit = read(&root.join("junit.xml"));
    assert!(
        junit.contains("name=\"gate [greedy]\"") && junit.contains("name=\"gate [production]\"")
    );
    let summary = read(&root.join("summary.md"));
    assert!(
        summary.contains("(2 decoding arms)") && summary.contains("| `greedy` | `production` |")
    );
    // The root is an index, not one run: reading it as one says where the runs are.
    let err = read_report(&root).unwrap_err().to_string();
    assert!(err.contains("index of a run of 2 decoding arms"), "{err}");
    // Two arms of the same cases compare like two runs.
    okla()
        .args(["compare"])
        .arg(root.join("arms/greedy"))
        .arg(root.join("arms/production"))
        .assert()
        .code(predicates::ord::lt(2));
}

#[test]
fn sampled_draws_are_seeded_reproducible_and_their_disagreements_listed() {
    let out = tempfile::tempdir().unwrap();
    let run = |name: &str| {
        let dir = out.path().join(name);
        okla()
            .args([
                "gate",
                "--model",
                OKLA_TINY,
                "--threads",
                "2",
                "--skip-loss",
            ])
            .args([
                "--decoding",
                "production",
                "--repeats",
                "3",
                "--max-cases",
                "4",
            ])
            .arg("--run-dir")
            .arg(&dir)
            .assert()
            .code(predicates::ord::lt(2));
        dir
    };
    let (a, b) = (run("a"), run("b"));
    let predictions = read(&a.join("predictions.jsonl"));
    assert_eq!(
        predictions,
        read(&b.join("predictions.jsonl")),
        "same seed, same answers"
    );
    let outputs: Vec<(String, String)> = predictions
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["id"].as_str().unwrap().into(),
                v["output"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(outputs.len(), 12);
    assert_eq!(outputs[0].0, "okla_test:1:0#1");
    assert_eq!(outputs[2].0, "okla_test:1:0#3");
    assert!(
        outputs
            .chunks(3)
            .any(|draws| draws[0].1 != draws[1].1 || draws[1].1 != draws[2].1),
        "the draws of a case are independent streams: some must differ"
    );
    let report = read_report(&a).unwrap();
    assert_eq!(report.meta.draws, 3);
    let repeats = report.summary.repeats.expect("repeat statistics");
    assert_eq!((repeats.draws, repeats.cases), (3, 4));
    assert!(repeats.pass_all.successes <= repeats.pass_any.successes);
    for flaky in &repeats.flaky {
        assert!(flaky.passed > 0 && flaky.passed < 3, "{flaky:?}");
    }
    let summary = read(&a.join("summary.md"));
    assert!(
        summary.contains("## Repeated draws") && summary.contains("pass^3"),
        "{summary}"
    );
}

#[test]
fn recorded_predictions_are_one_arm() {
    okla()
        .args([
            "gate",
            "--predictions",
            "suites/okla/example_predictions.jsonl",
        ])
        .args(["--arms", "greedy,production"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("replay them with one arm"));
    okla()
        .args([
            "gate",
            "--arms",
            "greedy,nucleus",
            "--predictions",
            "x.jsonl",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("unknown arm \"nucleus\""));
}

/// A server that answers prose around JSON whatever `response_format` says
/// (tests/fixtures/servers/ignores_response_format.py), killed when dropped.
struct IgnoringServer(Child, String);

impl IgnoringServer {
    fn start() -> Option<IgnoringServer> {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Process::new("python3")
            .arg("tests/fixtures/servers/ignores_response_format.py")
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| eprintln!("SKIPPED: cannot start python3: {e}"))
            .ok()?;
        let server = IgnoringServer(child, format!("http://127.0.0.1:{port}"));
        let deadline = Instant::now() + Duration::from_secs(30);
        while ureq::get(&format!("{}/health", server.1)).call().is_err() {
            assert!(Instant::now() < deadline, "the fake server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(server)
    }
}

impl Drop for IgnoringServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_server_that_does_not_enforce_the_schema_is_reported_not_scored() {
    let Some(server) = IgnoringServer::start() else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let constrained = out.path().join("constrained");
    let assert = okla()
        .args([
            "gate",
            "--suite",
            "tests/fixtures/mini",
            "--endpoint",
            &server.1,
        ])
        .args(["--grammar", "schema", "--run-dir"])
        .arg(&constrained)
        .assert()
        .code(3);
    let shown = String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
        + &String::from_utf8_lossy(&assert.get_output().stderr);
    assert!(
        shown.contains("schema not enforced: 6 of the 6 answers"),
        "{shown}"
    );
    let report = read_report(&constrained).unwrap();
    assert_eq!(report.gate.outcome, Outcome::CouldNotEvaluate);
    assert_eq!(report.gate.evidence.unenforced, 6);
    assert_eq!(
        report.meta.backend.details["response_format"]["style"],
        "json_schema"
    );
    // Asked for nothing, the same answers are the model's to answer for: scored (failed).
    let plain = out.path().join("plain");
    okla()
        .args([
            "gate",
            "--suite",
            "tests/fixtures/mini",
            "--endpoint",
            &server.1,
        ])
        .arg("--run-dir")
        .arg(&plain)
        .assert()
        .code(1);
    assert_eq!(read_report(&plain).unwrap().gate.evidence.unenforced, 0);
}
