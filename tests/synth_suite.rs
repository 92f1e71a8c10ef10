//! The committed suites/okla test and eval splits are exactly what the command
//! recorded in suites/okla/README.md regenerates.

use assert_cmd::Command;

#[test]
fn recorded_command_regenerates_the_committed_splits_byte_for_byte() {
    let readme = std::fs::read_to_string("suites/okla/README.md").unwrap();
    let command = "okla-eval data synth --seed 42 --count 600 --out suites/okla";
    assert!(
        readme.contains(command),
        "README no longer records {command:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    Command::cargo_bin("okla-eval")
        .unwrap()
        .args(["data", "synth", "--seed", "42", "--count", "600", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    for file in ["okla_test.jsonl", "okla_eval.jsonl"] {
        let committed = std::fs::read(format!("suites/okla/{file}")).unwrap();
        let fresh = std::fs::read(dir.path().join(file)).unwrap();
        assert!(
            committed == fresh,
            "{file} differs from a fresh `{command}`"
        );
    }
    let train = std::fs::read_to_string(dir.path().join("okla_train.jsonl")).unwrap();
    assert_eq!(train.lines().count(), 480);
}
