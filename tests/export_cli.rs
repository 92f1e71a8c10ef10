//! `okla-eval export` end to end without libtorch: a HF folder written from a tiny
//! model's tensors exports to exactly the bytes `gguf tiny` writes; a LoRA adapter is
//! merged in f32 into the right rows; a file failing the gate is never written; a
//! passing one carries its verdict, suite hash and run id.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use okla_engine::tiny::TinySpec;
use okla_formats::gguf::llama_names::{
    hf_name, permute_for_gguf, permuted_heads, unpermute_from_gguf,
};
use okla_formats::gguf::{FileType, GgufFile};
use okla_formats::quant::tensor::dequantize_tensor_into;
use okla_formats::quant::QuantType;
use okla_harness::suite::Suite;
use safetensors::tensor::TensorView;
use safetensors::Dtype;

fn spec() -> TinySpec {
    TinySpec {
        dim: 64,
        layers: 1,
        heads: 2,
        kv_heads: 1,
        ff: 128,
        seed: 7,
        ..TinySpec::default()
    }
}

/// The spec's tensors as a HF folder: HF names, query/key rows back in HF order,
/// F32 safetensors and a config.json.
fn hf_folder(spec: &TinySpec, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let tensors: Vec<(String, Vec<usize>, Vec<u8>)> = spec
        .tensors()
        .into_iter()
        .map(|t| {
            let name = hf_name(&t.name).unwrap();
            let data = match permuted_heads(&name, spec.heads, spec.kv_heads) {
                Some(h) => unpermute_from_gguf(&t.data, t.cols, h).unwrap(),
                None => t.data,
            };
            let shape = if t.rows == 1 {
                vec![t.cols]
            } else {
                vec![t.rows, t.cols]
            };
            (
                name,
                shape,
                data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, &dir.join("model.safetensors")).unwrap();
    let config = serde_json::json!({
        "vocab_size": spec.vocab, "hidden_size": spec.dim, "intermediate_size": spec.ff,
        "num_hidden_layers": spec.layers, "num_attention_heads": spec.heads,
        "num_key_value_heads": spec.kv_heads, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
        "max_position_embeddings": spec.context, "tie_word_embeddings": false
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
}

fn export(args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("okla-eval")
        .unwrap()
        .arg("export")
        .args(["--tokenizer", "models/llama3", "--threads", "2"])
        .args(args)
        .assert()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn tensor_f32(file: &GgufFile, name: &str) -> Vec<f32> {
    let t = file.tensor(name).unwrap();
    let mut out = vec![0f32; t.n_elements() as usize];
    let codec = QuantType::from_ggml_type_id(t.ggml_type as u32).unwrap();
    dequantize_tensor_into(codec, file.tensor_data(t), t.row_len() as usize, &mut out).unwrap();
    out
}

#[test]
fn a_hf_folder_exports_to_the_bytes_gguf_tiny_writes_and_records_a_forced_export() {
    let dir = tempfile::tempdir().unwrap();
    let hf = dir.path().join("hf");
    hf_folder(&spec(), &hf);
    let exported = dir.path().join("exported.gguf");
    export(&["--base", s(&hf), "--force", "--out", s(&exported)]).success();
    let reference = dir.path().join("tiny.gguf");
    spec().write_gguf(&reference, FileType::Q4KM).unwrap();

    let (a, b) = (
        GgufFile::open(&exported).unwrap(),
        GgufFile::open(&reference).unwrap(),
    );
    let names: Vec<&str> = a.tensors().iter().map(|t| t.name.as_str()).collect();
    let reference_names: Vec<&str> = b.tensors().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, reference_names, "tensor order");
    for (x, y) in a.tensors().iter().zip(b.tensors()) {
        assert_eq!((x.ggml_type, &x.dims), (y.ggml_type, &y.dims), "{}", x.name);
        assert!(
            a.tensor_data(x) == b.tensor_data(y),
            "{} bytes differ",
            x.name
        );
    }
    assert_eq!(a.metadata().str("okla.gate").unwrap(), "skipped");
    assert_eq!(a.metadata().str("okla.run_id").unwrap(), "hf");
    for key in [
        "llama.rope.freq_base",
        "tokenizer.ggml.merges",
        "tokenizer.chat_template",
    ] {
        assert_eq!(a.metadata().get(key), b.metadata().get(key), "{key}");
    }
}

#[test]
fn a_lora_adapter_is_merged_into_the_permuted_query_rows_only() {
    let dir = tempfile::tempdir().unwrap();
    let hf = dir.path().join("hf");
    let spec = spec();
    hf_folder(&spec, &hf);
    let (r, alpha) = (2usize, 8.0f32);
    let adapter = dir.path().join("adapter");
    std::fs::create_dir_all(&adapter).unwrap();
    let a: Vec<f32> = (0..r * spec.dim)
        .map(|i| ((i * 7 % 13) as f32 - 6.0) / 50.0)
        .collect();
    let b: Vec<f32> = (0..spec.dim * r)
        .map(|i| ((i * 5 % 11) as f32 - 5.0) / 40.0)
        .collect();
    let bytes = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let (ab, bb) = (bytes(&a), bytes(&b));
    let key = "base_model.model.model.layers.0.self_attn.q_proj";
    safetensors::serialize_to_file(
        vec![
            (
                format!("{key}.lora_A.weight"),
                TensorView::new(Dtype::F32, vec![r, spec.dim], &ab).unwrap(),
            ),
            (
                format!("{key}.lora_B.weight"),
                TensorView::new(Dtype::F32, vec![spec.dim, r], &bb).unwrap(),
            ),
        ],
        None,
        &adapter.join("adapter_model.safetensors"),
    )
    .unwrap();
    std::fs::write(
        adapter.join("adapter_config.json"),
        format!(r#"{{"peft_type":"LORA","r":{r},"lora_alpha":{alpha}}}"#),
    )
    .unwrap();
    let plain = dir.path().join("plain.gguf");
    let merged = dir.path().join("merged.gguf");
    export(&[
        "--base",
        s(&hf),
        "--type",
        "f16",
        "--force",
        "--out",
        s(&plain),
    ])
    .success();
    export(&[
        "--base",
        s(&hf),
        "--adapter",
        s(&adapter),
        "--type",
        "f16",
        "--force",
        "--out",
        s(&merged),
    ])
    .success();
    let (p, m) = (
        GgufFile::open(&plain).unwrap(),
        GgufFile::open(&merged).unwrap(),
    );
    for t in p.tensors() {
        let same = p.tensor_data(t) == m.tensor_data(m.tensor(&t.name).unwrap());
        assert_eq!(same, t.name != "blk.0.attn_q.weight", "{}", t.name);
    }
    // Expected: the HF weight plus (alpha / r)·B·A, permuted, rounded to f16.
    let q = spec
        .tensors()
        .into_iter()
        .find(|t| t.name == "blk.0.attn_q.weight")
        .unwrap();
    let mut w = unpermute_from_gguf(&q.data, q.cols, spec.heads).unwrap();
    for o in 0..spec.dim {
        for i in 0..spec.dim {
            let d: f32 = (0..r).map(|k| b[o * r + k] * a[k * spec.dim + i]).sum();
            w[o * spec.dim + i] += alpha / r as f32 * d;
        }
    }
    let want = permute_for_gguf(&w, q.cols, spec.heads).unwrap();
    let got = tensor_f32(&m, "blk.0.attn_q.weight");
    for (g, e) in got.iter().zip(&want) {
        assert_eq!(*g, half::f16::from_f32(*e).to_f32());
    }
}

#[test]
fn a_failing_file_is_never_written_and_a_passing_one_records_its_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let hf = dir.path().join("hf");
    hf_folder(&spec(), &hf);
    let refused = dir.path().join("out/refused.gguf");
    std::fs::create_dir_all(refused.parent().unwrap()).unwrap();
    // a temporary file of a killed export (no such process) is cleaned up; one of a
    // live process (this test's) is left alone
    let stale = dir.path().join("out/.refused.gguf.gating-4000000000");
    let live = dir
        .path()
        .join(format!("out/.refused.gguf.gating-{}", std::process::id()));
    std::fs::write(&stale, b"half a file").unwrap();
    std::fs::write(&live, b"in use").unwrap();
    export(&[
        "--base",
        s(&hf),
        "--suite",
        "tests/fixtures/export-strict",
        "--out",
        s(&refused),
    ])
    .code(1);
    assert!(!refused.exists(), "a failing export left its file");
    assert!(
        !stale.exists(),
        "a killed export's temporary file was not removed"
    );
    assert!(
        live.exists(),
        "a running export's temporary file was removed"
    );
    std::fs::remove_file(&live).unwrap();
    let leftovers: Vec<PathBuf> = std::fs::read_dir(refused.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.is_dir())
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let report = dir.path().join("out/refused.gguf.gate/report.json");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    assert_eq!(report["gate"]["outcome"], "fail", "{report}");

    let passed = dir.path().join("passed.gguf");
    export(&[
        "--base",
        s(&hf),
        "--suite",
        "tests/fixtures/export-lenient",
        "--out",
        s(&passed),
    ])
    .success();
    let file = GgufFile::open(&passed).unwrap();
    let md = file.metadata();
    assert_eq!(md.str("okla.gate").unwrap(), "pass");
    let suite = Suite::load(Path::new("tests/fixtures/export-lenient")).unwrap();
    assert_eq!(md.str("okla.suite_sha256").unwrap(), suite.hash);
    let metrics: serde_json::Value =
        serde_json::from_str(md.str("okla.gate_metrics").unwrap()).unwrap();
    assert!(metrics["eval_loss"].as_f64().unwrap() > 0.0, "{metrics}");
}

#[test]
fn bad_inputs_exit_2_naming_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.gguf");
    export(&["--run", s(dir.path()), "--out", s(&out)])
        .code(2)
        .stderr(predicates::str::contains("recipe.json"));
    std::fs::write(dir.path().join("recipe.json"), r#"{"epochs": 3}"#).unwrap();
    export(&["--run", s(dir.path()), "--out", s(&out)])
        .code(2)
        .stderr(predicates::str::contains("model"));
    let adapter = dir.path().join("adapter");
    std::fs::create_dir_all(&adapter).unwrap();
    std::fs::write(
        adapter.join("adapter_config.json"),
        r#"{"peft_type":"IA3","r":4,"lora_alpha":8}"#,
    )
    .unwrap();
    let hf = dir.path().join("hf");
    hf_folder(&spec(), &hf);
    export(&["--base", s(&hf), "--adapter", s(&adapter), "--out", s(&out)])
        .code(2)
        .stderr(predicates::str::contains("peft_type"));
    assert!(!out.exists());
    let nowhere = dir.path().join("missing/x.gguf");
    export(&["--base", s(&hf), "--force", "--out", s(&nowhere)])
        .code(2)
        .stderr(predicates::str::contains("folder does not exist"));
}
