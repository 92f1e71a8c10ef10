//! `okla-eval data stats` end to end on a small fixture of our own.

use assert_cmd::Command;

const FIXTURE: &str = "tests/data/text/stats_fixture.jsonl";

fn okla() -> Command {
    Command::cargo_bin("okla-eval").unwrap()
}

#[test]
fn text_report() {
    let out = okla()
        .args(["data", "stats", FIXTURE, "--max-seq-len", "100"])
        .assert()
        .success();
    insta::assert_snapshot!(String::from_utf8(out.get_output().stdout.clone()).unwrap());
}

#[test]
fn json_report() {
    let out = okla()
        .args(["data", "stats", FIXTURE, "--json"])
        .assert()
        .success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    insta::assert_json_snapshot!(json);
}

#[test]
fn lengths_csv_has_one_row_per_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("lengths.csv");
    okla()
        .args(["data", "stats", FIXTURE, "--json", "--lengths-out"])
        .arg(&csv)
        .assert()
        .success();
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[0], "file,line,tokens");
    assert_eq!(rows.len(), 1 + 7);
    assert!(rows[1].starts_with(&format!("{FIXTURE},1,")), "{}", rows[1]);
    let total: u64 = rows[1..]
        .iter()
        .map(|r| r.rsplit(',').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert!(total > 0);
}

#[test]
fn bad_lines_exit_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"messages\":[{\"role\":\"user\",\"content\":\"klk\"}]}\n{\"messages\":[{\"role\":\"bot\",\"content\":\"x\"}]}\n").unwrap();
    let out = okla()
        .args(["data", "stats"])
        .arg(&bad)
        .arg("no/such/file.jsonl")
        .assert()
        .code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("bad.jsonl:2: field `messages[0].role`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("no/such/file.jsonl: cannot read"),
        "{stderr}"
    );
}

#[test]
fn zero_max_seq_len_is_a_usage_error() {
    okla()
        .args(["data", "stats", FIXTURE, "--max-seq-len", "0"])
        .assert()
        .code(2);
}
