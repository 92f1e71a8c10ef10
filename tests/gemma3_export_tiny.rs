//! The Gemma 3 export on a tiny Gemma 3 (2 layers, width 64, 16 tokens) written here:
//! a peft LoRA adapter with Gemma's module names is merged into the one weight it
//! targets, exactly as the Llama path merges (no row permutation); a HF folder made of
//! the same weights (norms without llama.cpp's +1) exports to the very bytes the GGUF
//! exports to; what a Gemma 3 GGUF cannot express is refused, naming the field.

mod common;

use std::path::Path;

use okla_export::gemma3::{gemma3_metadata, tokenizer_metadata};
use okla_export::source::ModelSource;
use okla_formats::error::InputError;
use okla_formats::gemma3_config::gemma3_config_from_metadata;
use okla_formats::gguf::gemma3_names::{hf_name, is_shifted_norm, NORM_SHIFT};
use okla_formats::gguf::Value;
use okla_formats::gguf::{Array, FileType, GgmlType, GgufFile, GgufWriter, Metadata, TensorSpec};
use okla_formats::hf::peft::LoraAdapter;
use okla_formats::progress::NoProgress;

const DIM: usize = 64;
const FF: usize = 128;
const HEAD_DIM: usize = 32;
const HEADS: usize = 2;
const LAYERS: usize = 2;
const VOCAB: usize = 16;

/// The tiny model's `gemma3.*` and tokenizer metadata.
fn metadata() -> Metadata {
    let mut md = Metadata::new();
    md.insert("general.architecture", Value::String("gemma3".into()));
    for (key, v) in [
        ("gemma3.context_length", 128),
        ("gemma3.embedding_length", DIM),
        ("gemma3.block_count", LAYERS),
        ("gemma3.feed_forward_length", FF),
        ("gemma3.attention.head_count", HEADS),
        ("gemma3.attention.key_length", HEAD_DIM),
        ("gemma3.attention.value_length", HEAD_DIM),
        ("gemma3.attention.sliding_window", 16),
        ("gemma3.attention.head_count_kv", 1),
    ] {
        md.insert(key, Value::U32(v as u32));
    }
    md.insert("gemma3.attention.layer_norm_rms_epsilon", Value::F32(1e-6));
    md.insert("gemma3.rope.freq_base", Value::F32(1e6));
    md.insert("tokenizer.ggml.model", Value::String("llama".into()));
    md.insert("tokenizer.ggml.pre", Value::String("default".into()));
    let mut tokens: Vec<String> = ["<pad>", "<eos>", "<bos>", "<unk>"]
        .map(String::from)
        .to_vec();
    tokens.extend((0..VOCAB - 4).map(|i| char::from(b'a' + i as u8).to_string()));
    md.insert("tokenizer.ggml.tokens", Value::Array(Array::String(tokens)));
    md.insert(
        "tokenizer.ggml.scores",
        Value::Array(Array::F32((0..VOCAB).map(|i| -(i as f32)).collect())),
    );
    let types = (0..VOCAB).map(|i| if i < 4 { 3 } else { 1 }).collect();
    md.insert("tokenizer.ggml.token_type", Value::Array(Array::I32(types)));
    for (key, id) in [("bos", 2), ("eos", 1), ("unknown", 3), ("padding", 0)] {
        md.insert(format!("tokenizer.ggml.{key}_token_id"), Value::U32(id));
    }
    md
}

/// Every tensor of the tiny model: GGUF name, GGUF dims, f32 values. Norm weights are
/// multiples of 1/64 near 1, so that removing and adding llama.cpp's +1 is exact.
fn tensors() -> Vec<(String, Vec<u64>, Vec<f32>)> {
    let mut shapes = vec![
        ("token_embd.weight".to_string(), vec![DIM, VOCAB]),
        ("output_norm.weight".to_string(), vec![DIM]),
    ];
    for l in 0..LAYERS {
        for (n, dims) in [
            ("attn_norm", vec![DIM]),
            ("attn_q", vec![DIM, HEADS * HEAD_DIM]),
            ("attn_k", vec![DIM, HEAD_DIM]),
            ("attn_v", vec![DIM, HEAD_DIM]),
            ("attn_q_norm", vec![HEAD_DIM]),
            ("attn_k_norm", vec![HEAD_DIM]),
            ("attn_output", vec![HEADS * HEAD_DIM, DIM]),
            ("post_attention_norm", vec![DIM]),
            ("ffn_norm", vec![DIM]),
            ("ffn_gate", vec![DIM, FF]),
            ("ffn_up", vec![DIM, FF]),
            ("ffn_down", vec![FF, DIM]),
            ("post_ffw_norm", vec![DIM]),
        ] {
            shapes.push((format!("blk.{l}.{n}.weight"), dims));
        }
    }
    shapes
        .into_iter()
        .enumerate()
        .map(|(t, (name, dims))| {
            let n: usize = dims.iter().product();
            let values = (0..n)
                .map(|i| {
                    let h = ((i + 31 * t) as u64).wrapping_mul(2_654_435_761) % 1000;
                    if is_shifted_norm(&name) {
                        1.0 + (h % 32) as f32 / 64.0
                    } else {
                        (h as f32 / 1000.0 - 0.5) * 0.2
                    }
                })
                .collect();
            (name, dims.iter().map(|&d| d as u64).collect(), values)
        })
        .collect()
}

/// The tiny model as an F32 Gemma 3 GGUF.
fn write_gguf(path: &Path) {
    let md = metadata();
    let config = gemma3_config_from_metadata(&md).unwrap();
    let md = gemma3_metadata(
        &config,
        "tiny",
        FileType::F32,
        &tokenizer_metadata(&md).unwrap(),
    );
    let tensors = tensors();
    let specs = tensors
        .iter()
        .map(|(n, d, _)| TensorSpec::new(n.clone(), GgmlType::F32, d.clone()))
        .collect();
    GgufWriter::new(md, specs)
        .unwrap()
        .write_file(path, |i, w| {
            let bytes: Vec<u8> = tensors[i].2.iter().flat_map(|v| v.to_le_bytes()).collect();
            w.write_all(&bytes)
        })
        .unwrap();
}

/// The tiny model as a HF Gemma 3 folder: HF names, norms without the +1, F32
/// safetensors, and `config` as config.json.
fn write_hf(dir: &Path, config: serde_json::Value) {
    std::fs::create_dir_all(dir).unwrap();
    let tensors: Vec<(String, Vec<usize>, Vec<f32>)> = tensors()
        .into_iter()
        .map(|(name, dims, mut values)| {
            if is_shifted_norm(&name) {
                values.iter_mut().for_each(|v| *v -= NORM_SHIFT);
            }
            let shape = dims.iter().rev().map(|&d| d as usize).collect();
            (hf_name(&name).unwrap(), shape, values)
        })
        .collect();
    common::write_f32_safetensors(&dir.join("model.safetensors"), &tensors);
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
}

/// The tiny model's config.json, transformers 5 layout.
fn hf_config() -> serde_json::Value {
    serde_json::json!({
        "architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text",
        "vocab_size": VOCAB, "hidden_size": DIM, "intermediate_size": FF,
        "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "num_key_value_heads": 1,
        "head_dim": HEAD_DIM, "rms_norm_eps": 1e-6, "max_position_embeddings": 128,
        "sliding_window": 16, "query_pre_attn_scalar": HEAD_DIM,
        "layer_types": ["sliding_attention", "sliding_attention"],
        "final_logit_softcapping": null, "attn_logit_softcapping": null,
        "hidden_activation": "gelu_pytorch_tanh",
        "rope_parameters": {
            "full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}
        }
    })
}

/// Exports `source` at F32 under a fixed name; returns the file.
fn export(source: &ModelSource, path: &Path) -> GgufFile {
    let md = source.metadata("tiny export", FileType::F32);
    source.write(path, md, FileType::F32, &NoProgress).unwrap();
    GgufFile::open(path).unwrap()
}

#[test]
fn a_lora_adapter_with_gemma_module_names_changes_only_its_weight() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("tiny.gguf");
    write_gguf(&base);
    let (r, alpha) = (2usize, 8.0f64);
    let rows = HEADS * HEAD_DIM;
    let a: Vec<f32> = (0..r * DIM)
        .map(|i| ((i * 7 % 13) as f32 - 6.0) / 50.0)
        .collect();
    let b: Vec<f32> = (0..rows * r)
        .map(|i| ((i * 5 % 11) as f32 - 5.0) / 40.0)
        .collect();
    let adapter = dir.path().join("adapter");
    common::write_lora_adapter(
        &adapter,
        "model.layers.1.self_attn.q_proj",
        (&a, &b),
        (r, DIM, rows),
        alpha,
    );
    let plain = export(
        &ModelSource::gguf(&base).unwrap(),
        &dir.path().join("p.gguf"),
    );
    let merged_source = ModelSource::gguf(&base)
        .unwrap()
        .with_adapter(LoraAdapter::open(&adapter).unwrap());
    assert_eq!(merged_source.merged_modules(), 1);
    let merged = export(&merged_source, &dir.path().join("m.gguf"));
    for t in plain.tensors() {
        let same = plain.tensor_data(t) == merged.tensor_data(merged.tensor(&t.name).unwrap());
        assert_eq!(same, t.name != "blk.1.attn_q.weight", "{}", t.name);
    }
    // The base weight plus (alpha / r)·B·A in Gemma's (unpermuted) row order.
    let (_, _, w) = tensors()
        .into_iter()
        .find(|(n, _, _)| n == "blk.1.attn_q.weight")
        .unwrap();
    let t = merged.tensor("blk.1.attn_q.weight").unwrap();
    let got: Vec<f32> = merged
        .tensor_data(t)
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    for o in 0..rows {
        for i in 0..DIM {
            let d: f64 = (0..r)
                .map(|k| b[o * r + k] as f64 * a[k * DIM + i] as f64)
                .sum();
            let want = w[o * DIM + i] + (d * alpha / r as f64) as f32;
            assert_eq!(got[o * DIM + i], want, "row {o} column {i}");
        }
    }
}

#[test]
fn a_hf_folder_exports_to_the_bytes_of_the_same_weights_in_a_gguf() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("tiny.gguf");
    write_gguf(&base);
    let hf = dir.path().join("hf");
    write_hf(&hf, hf_config());
    let from_gguf = dir.path().join("from_gguf.gguf");
    let from_hf = dir.path().join("from_hf.gguf");
    export(&ModelSource::gguf(&base).unwrap(), &from_gguf);
    export(&ModelSource::base(&hf, &base).unwrap(), &from_hf);
    assert_eq!(
        std::fs::read(&from_hf).unwrap(),
        std::fs::read(&from_gguf).unwrap()
    );
}

#[test]
fn what_a_gemma3_gguf_cannot_express_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("tiny.gguf");
    write_gguf(&base);
    let cases: [(&str, serde_json::Value, &str); 4] = [
        (
            "rope_scaling",
            serde_json::json!({"rope_type": "yarn", "factor": 8.0}),
            "rope_scaling",
        ),
        (
            "final_logit_softcapping",
            serde_json::json!(30.0),
            "final_logit_softcapping",
        ),
        (
            "layer_types",
            serde_json::json!(["full_attention", "sliding_attention"]),
            "layer_types",
        ),
        ("vocab_size", serde_json::json!(17), "vocab_size"),
    ];
    for (key, value, field) in cases {
        let mut config = hf_config();
        config[key] = value;
        if key == "rope_scaling" {
            config.as_object_mut().unwrap().remove("rope_parameters");
        }
        let hf = dir.path().join(key);
        write_hf(&hf, config);
        let err = ModelSource::base(&hf, &base).err().unwrap();
        let input = err
            .downcast_ref::<InputError>()
            .expect("an input error (exit 2)");
        let message = input.to_string();
        assert!(
            message.contains(&format!("field `{field}`")),
            "{key}: {message}"
        );
        assert!(message.contains("config.json"), "{key}: {message}");
    }
    // A Gemma 3 HF folder without a GGUF to take the vocabulary from.
    let hf = dir.path().join("no_tokenizer");
    write_hf(&hf, hf_config());
    let err = format!("{:#}", ModelSource::base(&hf, &hf).err().unwrap());
    assert!(err.contains("--tokenizer FILE.gguf"), "{err}");
}
