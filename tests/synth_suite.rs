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

#[test]
fn copy_drills_follow_the_train_split_and_copy_their_listing_verbatim() {
    let plain = synth_keeps_committed_held_out_splits(&["--train-count", "100"]);
    let train =
        synth_keeps_committed_held_out_splits(&["--train-count", "100", "--copy-drills", "40"]);
    let lines: Vec<&str> = train.lines().collect();
    assert_eq!(lines.len(), 140);
    assert_eq!(
        lines[..100].join("\n"),
        plain.lines().collect::<Vec<_>>().join("\n")
    );
    let mut off_catalogue = 0;
    let mut inventory_drills = 0;
    for line in &lines[100..] {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let messages = v["messages"].as_array().unwrap();
        let system = messages[0]["content"].as_str().unwrap();
        let first: serde_json::Value =
            serde_json::from_str(messages[2]["content"].as_str().unwrap()).unwrap();
        let listing = first["response"].as_str().unwrap();
        let copied: Vec<&str> = listing.lines().filter(|l| l.starts_with("- ")).collect();
        assert!(
            copied.len() >= 8,
            "the listing answer copies the block: {listing}"
        );
        for l in &copied {
            assert!(system.contains(l), "{l:?} is not a line of the context");
        }
        // every price any answer quotes is in the context
        for answer in messages.iter().filter(|m| m["role"] == "assistant") {
            let text: serde_json::Value =
                serde_json::from_str(answer["content"].as_str().unwrap()).unwrap();
            for price in text["response"].as_str().unwrap().split("RD$").skip(1) {
                let digits: String = price
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == ',')
                    .collect();
                let digits = digits.trim_end_matches(',');
                assert!(
                    system.contains(&format!("RD${digits}")),
                    "RD${digits} not in the context"
                );
            }
        }
        if system.contains("INVENTARIO DISPONIBLE") {
            inventory_drills += 1;
            assert_each_answer_names_a_new_row_and_its_id(system, &messages[3..]);
        }
        off_catalogue += system
            .split("RD$")
            .skip(1)
            .filter(|p| p.starts_with('5') || p.starts_with('6'))
            .count();
    }
    assert!(
        off_catalogue > 0,
        "uniform drill prices reach the top of their range"
    );
    assert!(inventory_drills > 0, "some drills are DealerInventory ones");
}

/// In a DealerInventory drill, the answers after the listing (`after`) number three
/// or four, each `parameters.vehicleId` differs from the previous answer's, and it
/// is the id on the inventory row of the vehicle the response names.
fn assert_each_answer_names_a_new_row_and_its_id(system: &str, after: &[serde_json::Value]) {
    let answers: Vec<serde_json::Value> = after
        .iter()
        .filter(|m| m["role"] == "assistant")
        .map(|m| serde_json::from_str(m["content"].as_str().unwrap()).unwrap())
        .collect();
    assert!(
        (3..=4).contains(&answers.len()),
        "{} answers",
        answers.len()
    );
    let mut previous = String::new();
    for answer in &answers {
        let id = answer["parameters"]["vehicleId"]
            .as_str()
            .unwrap()
            .to_string();
        assert_ne!(id, previous, "two answers in a row about one vehicle");
        let row = system
            .lines()
            .find(|l| l.starts_with(&format!("- [{id}] ")))
            .unwrap_or_else(|| panic!("{id} is no row of the context"));
        let title = row.split(" | ").next().unwrap().split("] ").nth(1).unwrap();
        assert!(
            answer["response"].as_str().unwrap().contains(title),
            "the answer with {id} does not name {title}"
        );
        previous = id;
    }
}
