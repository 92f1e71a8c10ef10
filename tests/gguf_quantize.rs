//! `gguf quantize` against llama.cpp: on the synthetic llama model, our Q4_K_M,
//! Q8_0 and F16 files are byte-identical to llama-quantize's (reference hashes and
//! type tables in tests/data/gguf/tiny_llama_llama_cpp.tsv, made by
//! scripts/reference/llama_quantize_vectors.py). Also: refusals with clear errors.

mod common;
#[path = "common/tiny_llama.rs"]
mod tiny_llama;

use std::path::Path;

use okla_formats::gguf::quantize::quantize_file;
use okla_formats::gguf::{FileType, GgufFile, GgufWriter, Metadata, TensorSpec, Value};
use okla_formats::progress::NoProgress;
use tiny_llama::TinyLlama;

/// (type, sha256, tensor table) rows of the llama.cpp reference.
fn reference() -> Vec<(String, String, String)> {
    include_str!("data/gguf/tiny_llama_llama_cpp.tsv")
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[1].to_string(), f[2].to_string())
        })
        .collect()
}

fn type_table(path: &Path) -> String {
    let file = GgufFile::open(path).unwrap();
    let cells: Vec<String> = file
        .tensors()
        .iter()
        .map(|t| format!("{}={}", t.name, t.ggml_type))
        .collect();
    cells.join(",")
}

#[test]
fn quantized_files_are_byte_identical_to_llama_quantize() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("tiny.gguf");
    TinyLlama::default().write(&input).unwrap();
    let refs = reference();
    assert_eq!(refs[0].0, "input");
    assert_eq!(
        common::sha256_file(&input),
        refs[0].1,
        "the synthetic input drifted from the one llama.cpp quantized"
    );
    for (name, hash, table) in &refs[1..] {
        let file_type = match name.as_str() {
            "q4_k_m" => FileType::Q4KM,
            "q8_0" => FileType::Q8_0,
            "f16" => FileType::F16,
            other => panic!("unknown type {other}"),
        };
        let out = dir.path().join(format!("{name}.gguf"));
        let report = quantize_file(&input, &out, file_type, &NoProgress).unwrap();
        assert_eq!(&type_table(&out), table, "{name}: tensor-type table");
        assert_eq!(&common::sha256_file(&out), hash, "{name}: file bytes");
        assert_eq!(report.tensors.len(), 3 + 9 * 8);
    }
}

#[test]
fn quantized_inputs_and_missing_architecture_are_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("tiny.gguf");
    TinyLlama::default().write(&input).unwrap();
    let q8 = dir.path().join("q8.gguf");
    quantize_file(&input, &q8, FileType::Q8_0, &NoProgress).unwrap();
    let err =
        quantize_file(&q8, &dir.path().join("x.gguf"), FileType::Q4KM, &NoProgress).unwrap_err();
    assert!(okla_formats::error::is_input_error(&err));
    assert!(
        format!("{err:#}").contains("is already Q8_0; re-quantizing quantized tensors is refused"),
        "{err:#}"
    );

    let bare = dir.path().join("bare.gguf");
    let mut m = Metadata::new();
    m.insert("general.name", Value::String("no arch".into()));
    GgufWriter::new(
        m,
        vec![TensorSpec::new(
            "w.weight",
            okla_formats::gguf::GgmlType::F32,
            vec![256, 2],
        )],
    )
    .unwrap()
    .write_file(&bare, |_, w| w.write_all(&[0u8; 2048]))
    .unwrap();
    let err = quantize_file(
        &bare,
        &dir.path().join("y.gguf"),
        FileType::Q4KM,
        &NoProgress,
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("metadata key `general.architecture` is missing"),
        "{err:#}"
    );
    assert!(!dir.path().join("y.gguf").exists());
}
