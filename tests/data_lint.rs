//! `okla-eval data lint` end to end: a hand-written broken fixture gives the
//! snapshotted report and exit 1; a missing file exits 2; the committed suite
//! splits lint clean.

use assert_cmd::Command;

fn lint(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("okla-eval")
        .unwrap()
        .args(["data", "lint", "--suite", "suites/okla"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn broken_fixture_reports_every_problem_and_exits_1() {
    let (code, stdout, _) = lint(&[
        "tests/data/lint/broken_train.jsonl",
        "tests/data/lint/broken_test.jsonl",
    ]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(stdout);
}

#[test]
fn warnings_alone_exit_0() {
    let (code, stdout, _) = lint(&["tests/data/lint/warnings_only.jsonl"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains(":3: warning: duplicate conversation: identical to line 1"),
        "{stdout}"
    );
    assert!(
        stdout.contains(":2: warning: field `messages[2].content/response`: legal_compliance: uses the forbidden phrase “último precio”"),
        "{stdout}"
    );
    assert!(
        stdout.contains(":2: warning: field `messages[2].content/response`: price_disclaimer:"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("0 error(s), 3 warning(s) in 1 file(s)\n"),
        "{stdout}"
    );
}

#[test]
fn unreadable_input_exits_2_naming_the_file() {
    let (code, _, stderr) = lint(&["tests/data/lint/does_not_exist.jsonl"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("does_not_exist.jsonl: cannot read"),
        "{stderr}"
    );
}

#[test]
fn committed_suite_splits_lint_clean() {
    let (code, stdout, _) = lint(&["suites/okla/okla_test.jsonl", "suites/okla/okla_eval.jsonl"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.ends_with("0 error(s), 0 warning(s) in 2 file(s)\n"),
        "{stdout}"
    );
}
