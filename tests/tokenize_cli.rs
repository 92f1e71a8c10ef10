//! `okla-eval tokenize`: llama-tokenize style lines and `--json` for the Llama (BPE)
//! tiny model and, when present, the real Gemma 3 (SentencePiece); bad input exits 2
//! naming the file.

mod common;

use assert_cmd::Command;
use okla_formats::gguf::{restamp, Value};
use predicates::prelude::*;

fn okla() -> Command {
    Command::cargo_bin("okla-eval").unwrap()
}

#[test]
fn gemma_prints_ids_and_pieces_with_bos() {
    let Some(gemma) = common::gemma_q4_k_m() else {
        return;
    };
    okla()
        .arg("tokenize")
        .arg(&gemma)
        .arg("Hello world")
        .arg("--json")
        .assert()
        .success()
        .stdout("{\"ids\":[2,9259,1902],\"pieces\":[\"<bos>\",\"Hello\",\" world\"]}\n");
    okla()
        .arg("tokenize")
        .arg(&gemma)
        .arg("<start_of_turn>user\n  hi")
        .assert()
        .success()
        .stdout(
            "     2 -> '<bos>'\n   105 -> '<start_of_turn>'\n  2364 -> 'user'\n   107 -> '\n'\n   138 -> '  '\n  2202 -> 'hi'\n",
        );
}

#[test]
fn llama_bpe_models_tokenize_with_bos_as_the_model_adds_it() {
    // The tiny model stores add_bos_token = false (its chat template writes the BOS).
    okla()
        .arg("tokenize")
        .arg(common::tiny_q4_k_m())
        .arg("Hello world")
        .arg("--json")
        .assert()
        .success()
        .stdout("{\"ids\":[9906,1917],\"pieces\":[\"Hello\",\" world\"]}\n");
    let dir = tempfile::tempdir().unwrap();
    let with_bos = dir.path().join("with_bos.gguf");
    let add_bos = (
        "tokenizer.ggml.add_bos_token".to_string(),
        Value::Bool(true),
    );
    restamp(&common::tiny_q4_k_m(), &with_bos, &[add_bos]).unwrap();
    okla()
        .arg("tokenize")
        .arg(&with_bos)
        .arg("Hello world")
        .assert()
        .success()
        .stdout("128000 -> '<|begin_of_text|>'\n  9906 -> 'Hello'\n  1917 -> ' world'\n");
}

/// `okla-eval tokenize FILE hi` exits 2 with stderr naming the file and saying `why`.
fn tokenize_refuses(file: &std::path::Path, why: &str) {
    let name = file.file_name().unwrap().to_str().unwrap().to_string();
    okla()
        .arg("tokenize")
        .arg(file)
        .arg("hi")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(name).and(predicate::str::contains(why)));
}

#[test]
fn bad_model_files_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    tokenize_refuses(&dir.path().join("missing.gguf"), "");

    let not_gguf = dir.path().join("notes.gguf");
    std::fs::write(&not_gguf, "just text").unwrap();
    tokenize_refuses(&not_gguf, "");

    let t5 = dir.path().join("t5.gguf");
    let model = (
        "tokenizer.ggml.model".to_string(),
        Value::String("t5".into()),
    );
    restamp(&common::tiny_q4_k_m(), &t5, &[model]).unwrap();
    tokenize_refuses(&t5, "unsupported tokenizer: tokenizer.ggml.model is \"t5\"");
}
