//! The committed suites/okla test and eval splits are exactly what the command
//! recorded in suites/okla/README.md regenerates.

use assert_cmd::Command;

/// Runs `data synth --seed 42 --count 600` plus `extra` flags into a fresh folder
/// and asserts its test and eval splits are the committed ones; returns the train
/// split's text.
fn synth_keeps_committed_held_out_splits(extra: &[&str]) -> String {
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
        .args(extra)
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
    std::fs::read_to_string(dir.path().join("okla_train.jsonl")).unwrap()
}

#[test]
fn recorded_command_regenerates_the_committed_splits_byte_for_byte() {
    let train = synth_keeps_committed_held_out_splits(&[]);
    assert_eq!(train.lines().count(), 480);
}

#[test]
fn a_larger_train_split_keeps_the_held_out_splits_and_shares_no_user_turn() {
    let train = synth_keeps_committed_held_out_splits(&["--train-count", "700"]);
    assert_eq!(train.lines().count(), 700);
    let held_out: std::collections::HashSet<String> = ["okla_test.jsonl", "okla_eval.jsonl"]
        .iter()
        .flat_map(|f| user_turns(&std::fs::read_to_string(format!("suites/okla/{f}")).unwrap()))
        .collect();
    let shared = user_turns(&train)
        .into_iter()
        .filter(|t| held_out.contains(t))
        .count();
    assert_eq!(shared, 0, "train user turns also in the held-out splits");
}

/// Every user message of a JSONL conversation file.
fn user_turns(jsonl: &str) -> Vec<String> {
    jsonl
        .lines()
        .flat_map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            v["messages"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["role"] == "user")
                .map(|m| m["content"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}
