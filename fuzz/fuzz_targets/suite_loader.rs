//! Fuzz the suite loader: any bytes as a case file (JSONL), as `suite.toml` or as the
//! response schema must load or fail with located input errors (exit code 2), never
//! panic, and a suite that loads holds cases whose references are JSON objects.
//! The first byte picks the file the rest replaces in a small valid suite.
//! Run: `cargo +nightly fuzz run suite_loader` (seed corpus: any suite's files).

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use okla_formats::error::is_input_error;
use okla_harness::suite::Suite;

const MANIFEST: &str = r#"name = "fuzz"
cases = ["cases.jsonl"]
eval_split = "cases.jsonl"
schema = "schema.json"
required_fields = ["response", "intent"]
intent_field = "intent"

[[modes]]
marker = "VEHÍCULO EN CONTEXTO"
name = "SingleVehicle"

[thresholds]
json_valid = { min = 0.85, ideal = 0.95, critical = true }
latency_mean_s = { max = 30.0 }
"#;

const SCHEMA: &str = r#"{"type": "object", "required": ["response", "intent"],
 "properties": {"response": {"type": "string"}, "intent": {"type": "string", "enum": ["Greeting", "VehiclePrice"]}}}"#;

const CASES: &str = r#"{"messages": [{"role": "system", "content": "VEHÍCULO EN CONTEXTO: RAV4"}, {"role": "user", "content": "klk"}, {"role": "assistant", "content": "{\"response\": \"Hola\", \"intent\": \"Greeting\"}"}]}
"#;

/// The suite folder of this fuzzing process.
fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("okla-fuzz-suite-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((which, body)) = data.split_first() else {
        return;
    };
    let dir = dir();
    let mut files: [(&str, &[u8]); 3] = [
        ("cases.jsonl", CASES.as_bytes()),
        ("suite.toml", MANIFEST.as_bytes()),
        ("schema.json", SCHEMA.as_bytes()),
    ];
    files[usize::from(which % 3)].1 = body;
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    match Suite::load(dir) {
        Ok(suite) => {
            assert!(!suite.cases.is_empty());
            for case in &suite.cases {
                let reference: serde_json::Value = serde_json::from_str(&case.reference).unwrap();
                assert!(reference.is_object(), "{}", case.id);
            }
            let _ = suite.eval_conversations().unwrap();
        }
        Err(e) => assert!(is_input_error(&e), "not an input error: {e:#}"),
    }
});
