//! Bad input gets a clear error naming file, line and field, and exit code 2: a suite
//! file with a BOM or invalid UTF-8, a schema that is no JSON Schema, a conversation
//! without an assistant turn or with a reference that is not JSON, a rate threshold
//! written as a percentage, a golden snapshot with an unknown metric, of another format
//! or whose per-case verdicts do not give its metrics, a GGUF whose constants cannot run.

mod common;

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use okla_formats::gguf::{restamp, Value};
use predicates::prelude::*;

fn okla() -> Command {
    Command::cargo_bin("okla-eval").unwrap()
}

/// `suite check DIR` exits 2 with `message` on stderr.
fn check_fails_with(dir: &Path, message: &str) {
    okla()
        .args(["suite", "check"])
        .arg(dir)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(message));
}

fn edit(path: &Path, f: impl FnOnce(Vec<u8>) -> Vec<u8>) {
    let bytes = fs::read(path).unwrap();
    fs::write(path, f(bytes)).unwrap();
}

#[test]
fn a_byte_order_mark_is_named_with_file_and_line() {
    let dir = common::mini_copy();
    edit(&dir.path().join("cases.jsonl"), |b| {
        [b"\xEF\xBB\xBF".to_vec(), b].concat()
    });
    check_fails_with(
        dir.path(),
        "cases.jsonl:1: the file starts with a UTF-8 byte-order mark (BOM): save it as UTF-8 without BOM",
    );
    let dir = common::mini_copy();
    edit(&dir.path().join("suite.toml"), |b| {
        [b"\xEF\xBB\xBF".to_vec(), b].concat()
    });
    check_fails_with(
        dir.path(),
        "suite.toml:1: the file starts with a UTF-8 byte-order mark",
    );
}

#[test]
fn invalid_utf8_is_named_with_its_line_and_byte() {
    let dir = common::mini_copy();
    // Latin-1 "é" on line 3, as an old export writes it.
    edit(&dir.path().join("cases.jsonl"), |b| {
        let text = String::from_utf8(b).unwrap();
        let mut lines: Vec<Vec<u8>> = text.lines().map(|l| l.as_bytes().to_vec()).collect();
        lines[2] = b"{\"messages\": \"caf\xE9\"}".to_vec();
        lines.join(&b'\n')
    });
    check_fails_with(
        dir.path(),
        "cases.jsonl:3: not valid UTF-8 from byte 18 of the line on (0xE9): save the file as UTF-8",
    );
}

#[test]
fn a_schema_that_is_not_json_schema_names_the_keyword_path_and_line() {
    let dir = common::mini_copy();
    let schema = dir.path().join("schema.json");
    fs::write(
        &schema,
        "{\n  \"type\": \"object\",\n  \"properties\": {\n    \"intent\": {\"type\": \"strng\"}\n  }\n}\n",
    )
    .unwrap();
    edit(&dir.path().join("suite.toml"), |b| {
        let toml = String::from_utf8(b).unwrap();
        let start = toml.find("schema = ").unwrap();
        let end = start + toml[start..].find('\n').unwrap();
        format!("{}schema = \"schema.json\"{}", &toml[..start], &toml[end..]).into_bytes()
    });
    check_fails_with(
        dir.path(),
        "schema.json:4: field `properties.intent.type`: not a valid JSON Schema",
    );
}

#[test]
fn conversations_without_an_assistant_turn_or_with_a_non_json_reference_are_refused() {
    let dir = common::mini_copy();
    edit(&dir.path().join("cases.jsonl"), |mut b| {
        b.extend_from_slice(
            concat!(
                "{\"messages\": [{\"role\": \"system\", \"content\": \"s\"}, {\"role\": \"user\", \"content\": \"klk\"}]}\n",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"klk\"}, {\"role\": \"assistant\", \"content\": \"Hola, dime.\"}]}\n",
            )
            .as_bytes(),
        );
        b
    });
    okla()
        .args(["suite", "check"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cases.jsonl:5: field `messages`: the conversation has no assistant turn: nothing to score",
        ))
        .stderr(predicate::str::contains(
            "cases.jsonl:6: field `messages[1].content`: the reference answer is not JSON",
        ));
}

#[test]
fn a_rate_threshold_written_as_a_percentage_is_refused() {
    let dir = common::mini_copy();
    edit(&dir.path().join("suite.toml"), |b| {
        String::from_utf8(b)
            .unwrap()
            .replace("json_valid = { min = 0.85,", "json_valid = { min = 85,")
            .into_bytes()
    });
    let toml = fs::read_to_string(dir.path().join("suite.toml")).unwrap();
    let line = 1 + toml
        .lines()
        .position(|l| l.starts_with("json_valid"))
        .unwrap();
    check_fails_with(
        dir.path(),
        &format!("suite.toml:{line}: field `thresholds.json_valid`: json_valid is a rate between 0 and 1, so the bound 85 can never be reached: write 0.85 for 85%"),
    );
    okla()
        .args([
            "gate",
            "--suite",
            "tests/fixtures/mini",
            "--threshold",
            "json_valid=min:85",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("write 0.85 for 85%"));
}

#[test]
fn an_unknown_decoding_arm_in_the_suite_is_located() {
    let dir = common::mini_copy();
    edit(&dir.path().join("suite.toml"), |b| {
        String::from_utf8(b)
            .unwrap()
            .replace(
                "intent_field = \"intent\"\n",
                "intent_field = \"intent\"\narms = [\"greedy\", \"production+gbnf\"]\n",
            )
            .into_bytes()
    });
    let toml = fs::read_to_string(dir.path().join("suite.toml")).unwrap();
    let line = 1 + toml.lines().position(|l| l.starts_with("arms")).unwrap();
    check_fails_with(
        dir.path(),
        &format!("suite.toml:{line}: field `arms`: unknown grammar \"gbnf\" in arm \"production+gbnf\": use +json or +schema"),
    );
}

/// A golden snapshot and a run of the mini suite's reference answers.
fn golden_and_run(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let preds = dir.join("ref.jsonl");
    okla()
        .args(["suite", "reference", "tests/fixtures/mini", "--out"])
        .arg(&preds)
        .assert()
        .code(0);
    let run = dir.join("run");
    okla()
        .args(["gate", "--suite", "tests/fixtures/mini", "--predictions"])
        .arg(&preds)
        .arg("--run-dir")
        .arg(&run)
        .assert()
        .code(0);
    let golden = dir.join("golden.json");
    okla()
        .arg("compare")
        .arg(&run)
        .arg("--golden")
        .arg(&golden)
        .arg("--bless")
        .assert()
        .code(0);
    (golden, run)
}

#[test]
fn a_golden_with_an_unknown_metric_or_another_format_is_refused() {
    let out = tempfile::tempdir().unwrap();
    let (golden, run) = golden_and_run(out.path());
    let text = fs::read_to_string(&golden).unwrap();
    let compare = || {
        let mut cmd = okla();
        cmd.arg("compare").arg(&run).arg("--golden").arg(&golden);
        cmd
    };
    compare().assert().code(0);

    fs::write(&golden, text.replace("\"json_valid\":", "\"json_vaild\":")).unwrap();
    let line = 1 + text
        .lines()
        .position(|l| l.contains("\"json_valid\":"))
        .unwrap();
    compare()
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "golden.json:{line}: field `metrics.json_vaild`: unknown metric"
        )));

    fs::write(&golden, text.replace("\"format\": 2", "\"format\": 1")).unwrap();
    compare().assert().code(2).stderr(predicate::str::contains(
        "golden.json:2: field `format`: snapshot format 1 is not the format 2 this okla-eval reads",
    ));

    // A case's verdicts that no longer give the metrics (an edited file) are located.
    let edited = text.replacen(
        "\"fail\": [], \"pass\": [\"json_valid\", ",
        "\"fail\": [\"json_valid\"], \"pass\": [",
        1,
    );
    assert_ne!(edited, text);
    fs::write(&golden, edited).unwrap();
    compare()
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
        "golden.json:{line}: field `metrics.json_valid`: 1, but 5 of the 6 cases judged passed it"
    )));
}

#[test]
fn a_gguf_whose_constants_cannot_run_is_refused_naming_the_key() {
    let out = tempfile::tempdir().unwrap();
    for (key, value, message) in [
        (
            "llama.attention.layer_norm_rms_epsilon",
            Value::F32(f32::NAN),
            "NaN must be a positive number",
        ),
        (
            "llama.rope.dimension_count",
            Value::U32(0),
            "0 must be even, at least 2 and at most the head width 64",
        ),
    ] {
        let bad = out.path().join("bad.gguf");
        restamp(&common::tiny_q4_k_m(), &bad, &[(key.to_string(), value)]).unwrap();
        okla()
            .args(["gate", "--suite", "tests/fixtures/mini", "--model"])
            .arg(&bad)
            .arg("--run-dir")
            .arg(out.path().join("run"))
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "bad.gguf: field `{key}`: {message}"
            )));
        assert!(!out.path().join("run").exists(), "refused before any run");
    }
}
