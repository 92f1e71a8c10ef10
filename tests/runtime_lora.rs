//! A LoRA applied at run time (`--lora`, llama.cpp's way) computes what merging it
//! computes: a tiny Llama GGUF base plus a peft adapter on all seven projections,
//! written by `export --as-lora f32`, gives the logits of the same adapter merged by
//! `export --type f32` (the engine adds `scale·B·(A·x)`; the merge adds `scale·B·A` to
//! the weight: the same sum in another order), the adapter changes the answer at all,
//! and a file that is not an adapter for this base exits 2 naming it. llama.cpp's
//! reading of our adapter files is pinned on the real Gemma adapter
//! (tests/engine_answers.rs).

mod common;

use std::path::Path;

use assert_cmd::Command;
use okla_engine::loader::{load, load_with_lora};
use okla_engine::tiny::TinySpec;
use okla_formats::gguf::FileType;
use predicates::str::contains;
use safetensors::tensor::TensorView;
use safetensors::Dtype;

fn spec() -> TinySpec {
    TinySpec {
        dim: 64,
        layers: 2,
        heads: 4,
        kv_heads: 2,
        ff: 128,
        seed: 11,
        ..TinySpec::default()
    }
}

/// A peft adapter of rank `r` on every projection of every block, with values large
/// enough to move the logits.
fn adapter_on_every_projection(spec: &TinySpec, dir: &Path, r: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let kv = spec.dim / spec.heads * spec.kv_heads;
    let modules = [
        ("self_attn.q_proj", spec.dim, spec.dim),
        ("self_attn.k_proj", spec.dim, kv),
        ("self_attn.v_proj", spec.dim, kv),
        ("self_attn.o_proj", spec.dim, spec.dim),
        ("mlp.gate_proj", spec.dim, spec.ff),
        ("mlp.up_proj", spec.dim, spec.ff),
        ("mlp.down_proj", spec.ff, spec.dim),
    ];
    let mut tensors = Vec::new();
    let mut seed = 1u64;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as f32 / (1u64 << 31) as f32 - 0.5) / 4.0
    };
    for layer in 0..spec.layers {
        for (module, cols, rows) in modules {
            let key = format!("base_model.model.model.layers.{layer}.{module}");
            let a: Vec<f32> = (0..r * cols).map(|_| next()).collect();
            let b: Vec<f32> = (0..rows * r).map(|_| next()).collect();
            tensors.push((format!("{key}.lora_A.weight"), vec![r, cols], a));
            tensors.push((format!("{key}.lora_B.weight"), vec![rows, r], b));
        }
    }
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(n, s, v)| (n, s, v.iter().flat_map(|x| x.to_le_bytes()).collect()))
        .collect();
    let views: Vec<(String, TensorView)> = bytes
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, &dir.join("adapter_model.safetensors")).unwrap();
    std::fs::write(
        dir.join("adapter_config.json"),
        format!(r#"{{"peft_type":"LORA","r":{r},"lora_alpha":{}}}"#, 2 * r),
    )
    .unwrap();
}

fn export(args: &[&Path], flags: &[&str]) {
    let mut cmd = Command::cargo_bin("okla-eval").unwrap();
    cmd.args(["export", "--threads", "2", "--force"]);
    for (flag, path) in ["--base", "--adapter", "--out"].iter().zip(args) {
        cmd.arg(flag).arg(path);
    }
    cmd.args(flags).assert().success();
}

/// Logits of the last prompt position of `ids`.
fn last_logits(model: &okla_engine::model::Model, ids: &[u32]) -> Vec<f32> {
    let mut cache = model.new_cache();
    model.forward(&mut cache, ids, &[ids.len() - 1]).unwrap()
}

#[test]
fn a_runtime_lora_gives_the_logits_of_the_merged_model() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec();
    let base = dir.path().join("base.gguf");
    spec.write_gguf(&base, FileType::F32).unwrap();
    let adapter = dir.path().join("adapter");
    adapter_on_every_projection(&spec, &adapter, 4);
    let merged = dir.path().join("merged.gguf");
    let lora = dir.path().join("lora.gguf");
    export(&[&base, &adapter, &merged], &["--type", "f32"]);
    export(&[&base, &adapter, &lora], &["--as-lora", "f32"]);

    let plain = load(&base, 2).unwrap();
    let with_lora = load_with_lora(&base, Some(&lora), 2).unwrap();
    let merged = load(&merged, 2).unwrap();
    assert_eq!(with_lora.model.lora().map(|l| l.adapted), Some(14));
    // A prompt longer than one token exercises the batched (prefill) path too.
    let ids = plain.tokenizer.encode("hola, ¿tienen yipetas?").unwrap();
    let (p, l, m) = (
        last_logits(&plain.model, &ids),
        last_logits(&with_lora.model, &ids),
        last_logits(&merged.model, &ids),
    );
    let max_diff = |x: &[f32], y: &[f32]| {
        x.iter()
            .zip(y)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max)
    };
    let scale = m.iter().map(|v| v.abs()).fold(0f32, f32::max);
    assert!(
        max_diff(&l, &m) <= 1e-4 * scale.max(1.0),
        "runtime LoRA vs merged: {} (logits up to {scale})",
        max_diff(&l, &m)
    );
    assert!(
        max_diff(&p, &m) > 100.0 * max_diff(&l, &m),
        "the adapter must move the logits: base vs merged {}, runtime vs merged {}",
        max_diff(&p, &m),
        max_diff(&l, &m)
    );
}

#[test]
fn a_file_that_is_not_an_adapter_for_the_base_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.gguf");
    spec().write_gguf(&base, FileType::F32).unwrap();
    // A model is not an adapter.
    Command::cargo_bin("okla-eval")
        .unwrap()
        .args(["generate", "--prompt", "hola", "-n", "2", "--lora"])
        .arg(&base)
        .arg(&base)
        .assert()
        .code(2)
        .stderr(contains("base.gguf"))
        .stderr(contains("not a LoRA adapter"));
    // An adapter made for another shape of base.
    let other = TinySpec {
        dim: 128,
        ff: 256,
        ..spec()
    };
    let other_base = dir.path().join("other.gguf");
    other.write_gguf(&other_base, FileType::F32).unwrap();
    let adapter = dir.path().join("adapter");
    adapter_on_every_projection(&other, &adapter, 2);
    let lora = dir.path().join("other-lora.gguf");
    export(&[&other_base, &adapter, &lora], &["--as-lora", "f16"]);
    Command::cargo_bin("okla-eval")
        .unwrap()
        .args(["generate", "--prompt", "hola", "-n", "2", "--lora"])
        .arg(&lora)
        .arg(&base)
        .assert()
        .code(2)
        .stderr(contains("other-lora.gguf"))
        .stderr(contains("but the base weight is"));
}
