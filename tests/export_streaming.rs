//! `okla-eval export` streams each tensor in row slices: host memory holds a slice,
//! not the largest tensor. Two sharded bf16 Llama folders that differ only in width
//! (so the embedding and LM head, 128,256 rows each, double from 65.7 M to 131 M
//! values) export with the same peak resident memory; holding a whole tensor in f32
//! would add about 0.5 GiB for the wider one. Each export is a child process, measured
//! alone (this file holds one test, so no other child runs beside it).

mod common;

use std::path::Path;
use std::process::Command;

const MIB: f64 = 1024.0 * 1024.0;
/// The Llama 3 vocabulary the export's tokenizer brings.
const VOCAB: i64 = 128_256;

/// A one-layer Llama of width `dim` (8 heads, 2 key/value heads, MLP 2·dim), HF
/// names and shapes.
fn llama_tensors(dim: i64) -> Vec<(String, Vec<i64>)> {
    let (kv, ff) = (dim / 4, 2 * dim);
    let layer = |n: &str, shape: Vec<i64>| (format!("model.layers.0.{n}.weight"), shape);
    vec![
        ("model.embed_tokens.weight".into(), vec![VOCAB, dim]),
        layer("input_layernorm", vec![dim]),
        layer("self_attn.q_proj", vec![dim, dim]),
        layer("self_attn.k_proj", vec![kv, dim]),
        layer("self_attn.v_proj", vec![kv, dim]),
        layer("self_attn.o_proj", vec![dim, dim]),
        layer("post_attention_layernorm", vec![dim]),
        layer("mlp.gate_proj", vec![ff, dim]),
        layer("mlp.up_proj", vec![ff, dim]),
        layer("mlp.down_proj", vec![dim, ff]),
        ("model.norm.weight".into(), vec![dim]),
        ("lm_head.weight".into(), vec![VOCAB, dim]),
    ]
}

/// Writes the folder of width `dim`, exports it to Q8_0 without a gate in a child
/// process and returns the largest peak resident memory of any child so far.
fn export_peak_rss(dir: &Path, dim: i64) -> f64 {
    let hf = dir.join(format!("hf{dim}"));
    let config = serde_json::json!({
        "vocab_size": VOCAB, "hidden_size": dim, "intermediate_size": 2 * dim,
        "num_hidden_layers": 1, "num_attention_heads": 8, "num_key_value_heads": 2,
        "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "max_position_embeddings": 2048,
        "tie_word_embeddings": false
    });
    common::hf_folder::write_sharded_folder(&hf, &config, &llama_tensors(dim), 2);
    let out = dir.join(format!("w{dim}.gguf"));
    let status = Command::new(env!("CARGO_BIN_EXE_okla-eval"))
        .args(["export", "--base"])
        .arg(&hf)
        .args(["--type", "q8_0", "--force", "--threads", "2", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "export of width {dim} failed");
    std::fs::remove_dir_all(&hf).unwrap();
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage), 0);
        usage
    };
    usage.ru_maxrss as f64 * 1024.0
}

#[test]
fn a_wider_model_exports_in_the_same_host_memory() {
    let dir = tempfile::tempdir().unwrap();
    let narrow = export_peak_rss(dir.path(), 512);
    let wide = export_peak_rss(dir.path(), 1024);
    let largest_f32_growth = 4.0 * (VOCAB as f64) * 512.0;
    eprintln!(
        "peak RSS: width 512 {:.0} MiB, width 1024 {:.0} MiB (a whole f32 embedding grows by {:.0} MiB)",
        narrow / MIB,
        wide / MIB,
        largest_f32_growth / MIB
    );
    assert!(
        wide - narrow < 64.0 * MIB,
        "the wider export peaked {:.0} MiB above the narrower one: a whole tensor was held",
        (wide - narrow) / MIB
    );
}
