//! The trainer reads the real Gemma 3 270M Q4_K_M GGUF (assembled by
//! scripts/setup/gemma.sh) as its base model (feature `train`): every tensor under its
//! HF name and shape, the norms with llama.cpp's +1 undone, the Gemma 3 config of
//! the metadata; and the model it builds predicts text as llama.cpp does on the same
//! file: a short OKLA-like text (a loss far below ln(262,144) = 12.5) and, past the
//! 512-position sliding window, a real OKLA conversation. Each mean loss is within
//! 0.1 of llama.cpp's (scripts/llama_cpp/gemma_text_loss.py: llama.cpp quantizes the
//! activations to 8 bits, we compute in f32), which holds only if the embedding
//! scale, the Gemma norms, the per-layer RoPE, the tanh-GELU and the window are all
//! right (attending past the window puts the second loss 0.5 above llama.cpp's).
//! Skips with a printed reason when the file is absent.
#![cfg(feature = "train")]

mod common;

use std::collections::HashMap;

use okla_formats::gguf::GgufFile;
use okla_formats::quant::tensor::dequantize_tensor_into;
use okla_formats::quant::QuantType;
use okla_text::GEMMA_BOS;
use okla_train::base_model::load_base_model;
use okla_train::config::Architecture;
use okla_train::lora::LoraSettings;
use okla_train::model::{Batch, CausalLm, Method, IGNORE_INDEX};
use tch::{Device, Kind, Tensor};

/// An OKLA-like exchange in Spanish, with an English sentence.
const TEXT: &str =
    "Hola, buenas tardes. Estoy buscando una yipeta Toyota RAV4 del 2019 en Santiago, \
que no pase de dos millones de pesos. ¿Tienen alguna disponible? \
The price is a reference and must be confirmed with the dealer.";

/// The f32 values of a GGUF tensor, as stored.
fn raw(file: &GgufFile, name: &str) -> Vec<f32> {
    let t = file.tensor(name).unwrap();
    let ty = QuantType::from_ggml_type_id(t.ggml_type as u32).unwrap();
    let mut out = vec![0f32; t.n_elements() as usize];
    dequantize_tensor_into(ty, file.tensor_data(t), t.dims[0] as usize, &mut out).unwrap();
    out
}

/// llama.cpp's mean losses (scripts/llama_cpp/gemma_text_loss.py): `TEXT` with BOS
/// (51 predicted tokens), and the 127 tokens predicted from positions 512..638 of
/// the first 640 of [`conversation`].
const LLAMA_CPP_SHORT: f64 = 3.7465;
const LLAMA_CPP_WINDOW: f64 = 3.5848;

/// The contents of the first conversation of the OKLA eval split, joined by blank lines.
fn conversation() -> String {
    let text = std::fs::read_to_string("suites/okla/okla_eval.jsonl").unwrap();
    let conv: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let contents: Vec<&str> = conv["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    contents.join("\n\n")
}

/// The mean loss of `ids` over the tokens predicted from positions `first..`.
fn mean_loss(model: &CausalLm, ids: &[i64], first: i64) -> (f64, i64) {
    let ids = Tensor::from_slice(ids).unsqueeze(0);
    let labels = ids.copy();
    let _ = labels.narrow(1, 0, first + 1).fill_(IGNORE_INDEX);
    let loss = model.eval_loss(&Batch::new(ids, labels));
    (loss.loss_sum / loss.tokens as f64, loss.tokens)
}

#[test]
fn the_real_gemma3_gguf_loads_as_a_base_and_predicts_text_as_llama_cpp() {
    let Some(path) = common::gemma_q4_k_m() else {
        return;
    };
    tch::set_num_threads(2);
    let base = load_base_model(&path, true).unwrap();
    assert_eq!(base.tokenizer.template().name(), "gemma3");
    let (config, weights) = (base.config, base.weights.into_map().unwrap());
    assert_eq!(config.architecture(), Ok(Architecture::Gemma3));
    assert_eq!(
        (
            config.vocab_size,
            config.hidden_size,
            config.num_hidden_layers,
            config.head_dim(),
            config.kv_heads()
        ),
        (262_144, 640, 18, 256, 1)
    );
    assert!(config.tie_word_embeddings);
    let global: Vec<i64> = (0..18).filter(|&l| !config.is_sliding(l)).collect();
    assert_eq!(global, vec![5, 11, 17]);
    assert_eq!(config.layer_rope(false), Ok((1e6, 1.0)));
    assert_eq!(config.layer_rope(true), Ok((1e4, 1.0)));
    assert_eq!(config.attention_scale(), 1.0 / 16.0);
    // exactly the tensors of a Gemma3ForCausalLM of this shape
    let expected: HashMap<String, Vec<i64>> =
        CausalLm::weight_shapes(&config).into_iter().collect();
    assert_eq!(weights.len(), expected.len());
    for (name, t) in &weights {
        assert_eq!(Some(&t.size()), expected.get(name), "{name}");
    }
    // the norms are the HF values: the GGUF's less 1; the matrices as stored
    let file = GgufFile::open(&path).unwrap();
    for (gguf, hf, shift) in [
        (
            "blk.0.attn_q_norm.weight",
            "model.layers.0.self_attn.q_norm.weight",
            1.0,
        ),
        (
            "blk.7.post_ffw_norm.weight",
            "model.layers.7.post_feedforward_layernorm.weight",
            1.0,
        ),
        ("output_norm.weight", "model.norm.weight", 1.0),
        (
            "blk.3.attn_k.weight",
            "model.layers.3.self_attn.k_proj.weight",
            0.0,
        ),
    ] {
        let expect: Vec<f32> = raw(&file, gguf).iter().map(|v| v - shift).collect();
        let got = Vec::<f32>::try_from(weights[hf].reshape([-1])).unwrap();
        assert_eq!(got, expect, "{hf}");
    }
    drop(file);

    // with BOS first, as llama.cpp tokenizes
    let tokenize = |text: &str| -> Vec<i64> {
        let ids = base
            .tokenizer
            .encode(&format!("{GEMMA_BOS}{text}"))
            .unwrap();
        ids.into_iter().map(i64::from).collect()
    };
    let model = CausalLm::from_weights(
        config,
        weights,
        Method::Lora,
        &LoraSettings::default(),
        Kind::Float,
        Device::Cpu,
    )
    .unwrap();
    let short = tokenize(TEXT);
    assert_eq!((short[0], short.len()), (2, 52), "BOS and 51 tokens");
    let (loss, tokens) = mean_loss(&model, &short, 0);
    eprintln!("short text: {tokens} tokens, mean loss {loss:.4} (llama.cpp {LLAMA_CPP_SHORT})");
    assert!((loss - LLAMA_CPP_SHORT).abs() < 0.1, "mean loss {loss}");
    let long = tokenize(&conversation());
    assert!(long.len() > 640, "{} tokens", long.len());
    let (loss, tokens) = mean_loss(&model, &long[..640], 512);
    eprintln!(
        "past the window: {tokens} tokens, mean loss {loss:.4} (llama.cpp {LLAMA_CPP_WINDOW})"
    );
    assert_eq!(tokens, 127);
    assert!((loss - LLAMA_CPP_WINDOW).abs() < 0.1, "mean loss {loss}");
}
