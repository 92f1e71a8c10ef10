//! The Gemma 3 export against llama.cpp, on the real Gemma 3 270M Q4_K_M base
//! (assembled by scripts/setup/gemma.sh; skips with a printed reason when absent).
//! tests/data/gguf/gemma3_export_llama_cpp.tsv (scripts/reference/gemma3_export_vectors.py)
//! holds the sha256 of the F16 and F32 files our exporter wrote from the base, and of
//! every tensor of llama.cpp's `llama_model_quantize` of them to Q4_K_M and Q8_0. Here
//! the exporter writes the F16 again (it must be that very file), `gguf quantize`
//! re-quantizes it (it must give llama.cpp's bytes), and the exporter writes Q4_K_M and
//! Q8_0 straight from the base (they must be llama.cpp's quantization of the F32
//! export, whose values are the ones the exporter quantizes): byte-identical files.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;
use okla_export::source::ModelSource;
use okla_formats::gguf::quantize::quantize_file;
use okla_formats::gguf::{FileType, GgufFile};
use okla_formats::progress::NoProgress;
use sha2::{Digest, Sha256};

/// (tensor or `*`, type, sha256) rows of one file of the llama.cpp reference.
type Rows = Vec<(String, String, String)>;

fn reference() -> BTreeMap<String, Rows> {
    let mut files: BTreeMap<String, Rows> = BTreeMap::new();
    for line in include_str!("data/gguf/gemma3_export_llama_cpp.tsv")
        .lines()
        .skip(1)
    {
        let f: Vec<&str> = line.split('\t').collect();
        files.entry(f[0].to_string()).or_default().push((
            f[1].to_string(),
            f[2].to_string(),
            f[3].to_string(),
        ));
    }
    files
}

/// The rows of `path` as the reference lists them: the whole file, then each tensor.
fn rows(path: &Path) -> Rows {
    let mut hasher = Sha256::new();
    let mut file = std::fs::File::open(path).unwrap();
    std::io::copy(&mut file, &mut hasher).unwrap();
    let mut rows = vec![("*".into(), "-".into(), format!("{:x}", hasher.finalize()))];
    let gguf = GgufFile::open(path).unwrap();
    for t in gguf.tensors() {
        rows.push((
            t.name.clone(),
            t.ggml_type.name().to_string(),
            format!("{:x}", Sha256::digest(gguf.tensor_data(t))),
        ));
    }
    rows
}

/// Asserts `path` matches the reference file `label`, tensor by tensor first (so a
/// failure names the first tensor that differs), then as a whole.
fn assert_matches(path: &Path, label: &str, reference: &BTreeMap<String, Rows>) {
    let want = &reference[label];
    let got = rows(path);
    if want.len() > 1 {
        assert_eq!(got.len(), want.len(), "{label}: tensor count");
        for (g, w) in got[1..].iter().zip(&want[1..]) {
            assert_eq!(g, w, "{label}: tensor (name, type, sha256)");
        }
    }
    assert_eq!(got[0], want[0], "{label}: whole file sha256");
}

#[test]
fn gemma3_exports_and_their_quantizations_are_byte_identical_to_llama_cpp() {
    let Some(base) = common::gemma_q4_k_m() else {
        return;
    };
    let reference = reference();
    let dir = tempfile::tempdir().unwrap();
    let source = ModelSource::gguf(&base).unwrap();
    let name = format!(
        "okla-eval export of {}",
        base.file_name().unwrap().to_string_lossy()
    );
    let export = |file_type: FileType| {
        let path = dir
            .path()
            .join(format!("export.{}.gguf", file_type.label()));
        let metadata = source.metadata(&name, file_type);
        source
            .write(&path, metadata, file_type, &NoProgress)
            .unwrap();
        path
    };

    let f16 = export(FileType::F16);
    assert_matches(&f16, "input.f16", &reference);
    for file_type in [FileType::Q4KM, FileType::Q8_0] {
        let label = file_type.label();
        let requantized = dir.path().join(format!("f16.{label}.gguf"));
        quantize_file(&f16, &requantized, file_type, &NoProgress).unwrap();
        assert_matches(&requantized, &format!("f16.{label}"), &reference);
        std::fs::remove_file(&requantized).unwrap();
    }
    std::fs::remove_file(&f16).unwrap();
    for file_type in [FileType::Q4KM, FileType::Q8_0] {
        let direct = export(file_type);
        assert_matches(&direct, &format!("f32.{}", file_type.label()), &reference);
    }
}

/// Re-quantizing the shipped file's weights (as the F16 export holds them) to
/// Q4_K_M chooses the shipped file's type for every tensor (llama-quantize made it).
#[test]
fn requantized_gemma_has_the_shipped_files_tensor_types() {
    let shipped: Vec<(String, String)> = include_str!("data/gguf/gemma3_270m_q4_k_m.tsv")
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[1].to_string())
        })
        .collect();
    let ours: Vec<(String, String)> = reference()["f16.q4_k_m"][1..]
        .iter()
        .map(|(name, ty, _)| (name.clone(), ty.clone()))
        .collect();
    assert_eq!(ours, shipped);
}

/// The gate path: a zero LoRA adapter merged into the base, gated on the lenient
/// export suite by the native Gemma 3 engine, written with its verdict; its tensors
/// are those of llama.cpp's Q4_K_M of the base (merging zeros changes nothing).
#[test]
fn a_gated_gemma3_export_is_written_with_its_verdict() {
    let Some(base) = common::gemma_q4_k_m() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let adapter = dir.path().join("adapter");
    let (r, cols, out_rows) = (8usize, 640usize, 1024usize);
    let a: Vec<f32> = (0..r * cols)
        .map(|i| ((i * 7 % 13) as f32 - 6.0) / 50.0)
        .collect();
    common::write_lora_adapter(
        &adapter,
        "model.layers.0.self_attn.q_proj",
        (&a, &vec![0.0; out_rows * r]),
        (r, cols, out_rows),
        16.0,
    );
    let out = dir.path().join("gemma.gguf");
    Command::cargo_bin("okla-eval")
        .unwrap()
        .args([
            "export",
            "--threads",
            "2",
            "--suite",
            "tests/fixtures/export-lenient",
        ])
        .arg("--base")
        .arg(&base)
        .arg("--adapter")
        .arg(&adapter)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let file = GgufFile::open(&out).unwrap();
    let md = file.metadata();
    assert_eq!(md.str("general.architecture").unwrap(), "gemma3");
    assert_eq!(md.str("okla.gate").unwrap(), "pass");
    assert_eq!(
        md.str("tokenizer.chat_template").unwrap(),
        okla_text::GEMMA3_CHAT_TEMPLATE
    );
    let want = &reference()["f32.q4_k_m"];
    let got = rows(&out);
    assert_eq!(got[1..], want[1..], "tensors (name, type, sha256)");
}
