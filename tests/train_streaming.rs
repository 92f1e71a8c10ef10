//! Streaming a base model's weights (feature `train`): building a QLoRA model from a
//! sharded bf16 safetensors folder holds about one tensor in host memory beside the
//! model's own NF4 storage, never the whole checkpoint. The load runs in a child
//! process (this test binary again), whose peak resident memory is measured alone.
#![cfg(feature = "train")]

mod common;

use std::path::Path;
use std::process::Command;

use okla_train::base_model::load_base_model;
use okla_train::config::HfConfig;
use okla_train::lora::LoraSettings;
use okla_train::model::{CausalLm, Method};
use tch::{Device, Kind};

/// Set in the child process: the folder to load.
const CHILD_ENV: &str = "OKLA_STREAMING_CHILD_DIR";
/// This test's name, for the child's `--exact` filter.
const TEST_NAME: &str = "a_sharded_folder_streams_into_qlora_holding_about_one_tensor";
const MIB: f64 = 1024.0 * 1024.0;

/// A Llama of ~260 M parameters: 16 layers of 1024 wide with a 4096 MLP (the largest
/// tensor, 4 M values, is 1.6 % of the model), an 8192-token vocabulary.
fn config() -> HfConfig {
    serde_json::from_value(serde_json::json!({
        "vocab_size": 8192, "hidden_size": 1024, "intermediate_size": 4096,
        "num_hidden_layers": 16, "num_attention_heads": 16, "num_key_value_heads": 4,
        "rope_parameters": {"rope_theta": 500000.0, "rope_type": "default"}
    }))
    .unwrap()
}

/// The model of [`config`] as a Hugging Face folder: four bf16 shards, their
/// index, config.json and the Llama 3 tokenizer files. Returns the bf16 bytes.
fn write_sharded_folder(dir: &Path) -> u64 {
    let config = config();
    let tensors = CausalLm::weight_shapes(&config);
    common::hf_folder::write_sharded_folder(
        dir,
        &serde_json::to_value(&config).unwrap(),
        &tensors,
        4,
    )
}

/// A `/proc/self/status` field in bytes.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// The child: build the QLoRA model from `dir` on the CPU and print the resident
/// memory before, the peak, and the bytes the model keeps.
fn child(dir: &Path) {
    tch::set_num_threads(2);
    let _ = tch::Tensor::ones([4], (Kind::Float, Device::Cpu)).sum(Kind::Float);
    let before = status_bytes("VmRSS:");
    let base = load_base_model(dir, true).unwrap();
    let mut weights = base.weights;
    let model = CausalLm::from_source(
        base.config,
        |name| weights.take(name),
        Method::Qlora,
        &LoraSettings::default(),
        Kind::BFloat16,
        Device::Cpu,
    )
    .unwrap();
    let peak = status_bytes("VmHWM:");
    let kept = model.storage_bytes();
    println!("STREAMING before={before} peak={peak} kept={kept}");
}

#[test]
fn a_sharded_folder_streams_into_qlora_holding_about_one_tensor() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = write_sharded_folder(dir.path());
    let out = Command::new(std::env::current_exe().unwrap())
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("STREAMING ").map(|(_, rest)| rest))
        .unwrap_or_else(|| panic!("no STREAMING line in {stdout}"));
    let field = |key: &str| -> f64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
            .unwrap()
            .parse()
            .unwrap()
    };
    let (before, peak, kept) = (field("before"), field("peak"), field("kept"));
    let largest_f32 = 4.0 * 4096.0 * 1024.0;
    let growth = peak - before;
    eprintln!(
        "checkpoint {:.0} MiB (bf16); model keeps {:.0} MiB; load grew resident memory by {:.0} MiB",
        checkpoint as f64 / MIB,
        kept / MIB,
        growth / MIB
    );
    // what the model keeps plus a few copies of the largest tensor in flight (bf16
    // as read, f32 twice for quantizing, the NF4 codes) and the allocator's slack
    let bound = kept + 8.0 * largest_f32;
    assert!(
        growth <= bound,
        "loading grew resident memory by {:.0} MiB, over the {:.0} MiB the model keeps plus eight f32 copies of its largest tensor: the checkpoint ({:.0} MiB) was held",
        growth / MIB,
        kept / MIB,
        checkpoint as f64 / MIB
    );
    assert!(
        bound < checkpoint as f64,
        "the bound must sit below the checkpoint's size for this test to tell streaming from holding it"
    );
}
