//! The GGUF metadata of a Gemma 3 text model as llama.cpp writes it: the `gemma3.*`
//! hyper-parameters in `convert_hf_to_gguf.py`'s order (`Gemma3Model.set_gguf_parameters`),
//! the SentencePiece `tokenizer.ggml.*` tables copied from a Gemma 3 GGUF, Gemma 3's
//! chat template, and `general.quantization_version` / `general.file_type` last, where
//! llama-quantize leaves them. A file written from these keys at F32 and re-quantized
//! by llama-quantize therefore has the same metadata, in the same order, as the file
//! our exporter writes at the target type directly.

use std::path::Path;

use anyhow::{ensure, Context, Result};

use okla_formats::error::InputError;
use okla_formats::gemma3_config::{Gemma3Config, LOCAL_ROPE_THETA, SLIDING_WINDOW_PATTERN};
use okla_formats::gguf::quantize::stamp_file_type;
use okla_formats::gguf::{FileType, Metadata, Value};
use okla_text::spm::SpmVocab;
use okla_text::GEMMA3_CHAT_TEMPLATE;

/// The prefix of the tokenizer tables a Gemma 3 GGUF holds.
const TOKENIZER_PREFIX: &str = "tokenizer.ggml.";
/// GGUF key of the chat template.
const CHAT_TEMPLATE_KEY: &str = "tokenizer.chat_template";

/// Flags `convert_hf_to_gguf.py` always writes for a Gemma 3 SentencePiece
/// vocabulary, added when a source lacks them: llama.cpp adds `<bos>`, and does not
/// prefix the text with a space.
const GEMMA3_TOKENIZER_FLAGS: [(&str, bool); 2] = [
    ("tokenizer.ggml.add_bos_token", true),
    ("tokenizer.ggml.add_space_prefix", false),
];

/// The `tokenizer.ggml.*` keys of a Gemma 3 GGUF's metadata `md`, in file order,
/// checked to be a SentencePiece vocabulary (`tokenizer.ggml.model` = `llama`) that
/// llama.cpp's rules can read.
pub fn tokenizer_metadata(md: &Metadata) -> Result<Metadata> {
    let model = md.str("tokenizer.ggml.model")?;
    ensure!(
        model == "llama",
        "tokenizer.ggml.model is {model:?}; a Gemma 3 vocabulary is SentencePiece (\"llama\")"
    );
    SpmVocab::from_metadata(md)?;
    let mut tokenizer = Metadata::new();
    for (key, value) in md.iter().filter(|(k, _)| k.starts_with(TOKENIZER_PREFIX)) {
        tokenizer.insert(key, value.clone());
    }
    for (key, value) in GEMMA3_TOKENIZER_FLAGS {
        if tokenizer.get(key).is_none() {
            tokenizer.insert(key, Value::Bool(value));
        }
    }
    Ok(tokenizer)
}

/// The number of tokens of tokenizer metadata (from [`tokenizer_metadata`]).
pub fn token_count(tokenizer: &Metadata) -> Result<usize> {
    Ok(tokenizer
        .str_array("tokenizer.ggml.tokens")
        .context("the tokenizer has no token list")?
        .len())
}

/// `model_type` of a Hugging Face Gemma 3 text model's `config.json`.
pub const HF_MODEL_TYPE: &str = "gemma3_text";

/// transformers' `Gemma3TextConfig` defaults for keys a `config.json` may leave out
/// (`convert_hf_to_gguf.py` uses the same ones).
const HF_DEFAULTS: [(&str, f64); 6] = [
    ("num_key_value_heads", 4.0),
    ("head_dim", 256.0),
    ("rms_norm_eps", 1e-6),
    ("max_position_embeddings", 131_072.0),
    ("sliding_window", 4096.0),
    ("rope_theta", 1_000_000.0),
];

/// The hyper-parameters of a Hugging Face Gemma 3 text model (`config.json` with
/// `model_type` `gemma3_text`; transformers 4 and 5 layouts) as llama.cpp will read
/// them from the GGUF. Refuses, naming the field, what the GGUF cannot express:
/// another sliding-window pattern than llama.cpp's fixed one, a local RoPE base other
/// than its fixed 10000, RoPE scaling other than linear, logit soft-capping.
pub fn config_from_hf(path: &Path) -> Result<Gemma3Config> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::file(path, format!("cannot read: {e}")))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| InputError::at(path, e.line(), None, format!("not JSON: {e}")))?;
    let bad = |field: &str, message: String| InputError::file(path, message).with_field(field);
    let number = |field: &str| -> Result<Option<f64>, InputError> {
        match json.get(field) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| bad(field, format!("must be a number, got {v}"))),
        }
    };
    let value = |field: &str| -> Result<f64, InputError> {
        let default = HF_DEFAULTS.iter().find(|(k, _)| *k == field).map(|d| d.1);
        number(field)?
            .or(default)
            .ok_or_else(|| bad(field, "is missing".into()))
    };
    let count = |field: &str| -> Result<usize, InputError> {
        let v = value(field)?;
        if v >= 1.0 && v.fract() == 0.0 {
            Ok(v as usize)
        } else {
            Err(bad(field, format!("must be a positive integer, got {v}")))
        }
    };
    let rope = |layer_type: &str| json.pointer(&format!("/rope_parameters/{layer_type}"));
    let global_theta = match rope("full_attention").and_then(|r| r.get("rope_theta")) {
        Some(t) => t.as_f64().ok_or_else(|| {
            bad(
                "rope_parameters.full_attention.rope_theta",
                format!("must be a number, got {t}"),
            )
        })?,
        None => value("rope_theta")?,
    };
    let local_theta = rope("sliding_attention")
        .and_then(|r| r.get("rope_theta"))
        .and_then(serde_json::Value::as_f64)
        .or(number("rope_local_base_freq")?)
        .unwrap_or(f64::from(LOCAL_ROPE_THETA));
    if local_theta != f64::from(LOCAL_ROPE_THETA) {
        return Err(bad(
            "rope_local_base_freq",
            format!("llama.cpp's Gemma 3 uses {LOCAL_ROPE_THETA} on sliding-window layers, not {local_theta}"),
        )
        .into());
    }
    let scaling = rope("full_attention").or_else(|| json.get("rope_scaling"));
    let factor = match scaling.filter(|s| !s.is_null()) {
        None => 1.0,
        Some(s) => {
            let kind = s
                .get("rope_type")
                .or_else(|| s.get("type"))
                .and_then(serde_json::Value::as_str)
                .unwrap_or("default");
            match kind {
                "default" => 1.0,
                "linear" => s
                    .get("factor")
                    .and_then(serde_json::Value::as_f64)
                    .unwrap_or(1.0),
                other => {
                    return Err(bad(
                        "rope_scaling",
                        format!("only linear RoPE scaling is supported for Gemma 3, not {other:?}"),
                    )
                    .into())
                }
            }
        }
    };
    for field in ["final_logit_softcapping", "attn_logit_softcapping"] {
        if let Some(v) = number(field)? {
            return Err(bad(field, format!("soft-capping ({v}) is not part of Gemma 3")).into());
        }
    }
    let pattern = number("sliding_window_pattern")?.or(number("_sliding_window_pattern")?);
    if pattern.is_some_and(|p| p != SLIDING_WINDOW_PATTERN as f64) {
        return Err(bad(
            "sliding_window_pattern",
            format!("llama.cpp's Gemma 3 makes every {SLIDING_WINDOW_PATTERN}th layer global"),
        )
        .into());
    }
    let layers = count("num_hidden_layers")?;
    if let Some(types) = json
        .get("layer_types")
        .and_then(serde_json::Value::as_array)
    {
        let pattern_types = (0..layers).map(|l| {
            if l % SLIDING_WINDOW_PATTERN < SLIDING_WINDOW_PATTERN - 1 {
                "sliding_attention"
            } else {
                "full_attention"
            }
        });
        if !types
            .iter()
            .map(|t| t.as_str().unwrap_or(""))
            .eq(pattern_types)
        {
            return Err(bad(
                "layer_types",
                format!("llama.cpp's Gemma 3 makes every {SLIDING_WINDOW_PATTERN}th layer global, and only those"),
            )
            .into());
        }
    }
    let (dim, heads, head_dim) = (
        count("hidden_size")?,
        count("num_attention_heads")?,
        count("head_dim")?,
    );
    let config = Gemma3Config {
        vocab: count("vocab_size")?,
        dim,
        layers,
        heads,
        kv_heads: count("num_key_value_heads")?,
        head_dim,
        ff: count("intermediate_size")?,
        context: count("max_position_embeddings")?,
        rms_eps: value("rms_norm_eps")? as f32,
        rope_theta: global_theta as f32,
        rope_scale: (1.0 / factor) as f32,
        rope_theta_local: LOCAL_ROPE_THETA,
        sliding_window: count("sliding_window")?,
        sliding_window_pattern: SLIDING_WINDOW_PATTERN,
        query_scale: Gemma3Config::default_query_scale(layers, dim, heads, head_dim),
    };
    config
        .validate()
        .map_err(|e| InputError::file(path, e.to_string()))?;
    Ok(config)
}

/// The whole metadata of a Gemma 3 GGUF of shape `config`, named `name`, at
/// `file_type`, with the vocabulary `tokenizer` (from [`tokenizer_metadata`]).
pub fn gemma3_metadata(
    config: &Gemma3Config,
    name: &str,
    file_type: FileType,
    tokenizer: &Metadata,
) -> Metadata {
    let mut md = Metadata::new();
    let u32v = |v: usize| Value::U32(v as u32);
    md.insert("general.architecture", Value::String("gemma3".into()));
    md.insert("general.type", Value::String("model".into()));
    md.insert("general.name", Value::String(name.into()));
    md.insert("gemma3.context_length", u32v(config.context));
    md.insert("gemma3.embedding_length", u32v(config.dim));
    md.insert("gemma3.block_count", u32v(config.layers));
    md.insert("gemma3.feed_forward_length", u32v(config.ff));
    md.insert("gemma3.attention.head_count", u32v(config.heads));
    md.insert(
        "gemma3.attention.layer_norm_rms_epsilon",
        Value::F32(config.rms_eps),
    );
    md.insert("gemma3.attention.key_length", u32v(config.head_dim));
    md.insert("gemma3.attention.value_length", u32v(config.head_dim));
    md.insert("gemma3.rope.freq_base", Value::F32(config.rope_theta));
    md.insert(
        "gemma3.attention.sliding_window",
        u32v(config.sliding_window),
    );
    md.insert("gemma3.attention.head_count_kv", u32v(config.kv_heads));
    if config.rope_scale != 1.0 {
        md.insert("gemma3.rope.scaling.type", Value::String("linear".into()));
        md.insert(
            "gemma3.rope.scaling.factor",
            Value::F32(1.0 / config.rope_scale),
        );
    }
    for (key, value) in tokenizer.iter() {
        md.insert(key, value.clone());
    }
    md.insert(
        CHAT_TEMPLATE_KEY,
        Value::String(GEMMA3_CHAT_TEMPLATE.into()),
    );
    stamp_file_type(&mut md, file_type);
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use okla_formats::gemma3_config::gemma3_config_from_metadata;
    use okla_formats::gguf::Array;

    /// A three-token SentencePiece vocabulary in a Gemma 3 GGUF's order.
    fn source() -> Metadata {
        let mut md = Metadata::new();
        md.insert("general.architecture", Value::String("gemma3".into()));
        md.insert("tokenizer.ggml.model", Value::String("llama".into()));
        md.insert("tokenizer.ggml.pre", Value::String("default".into()));
        md.insert(
            "tokenizer.ggml.tokens",
            Value::Array(Array::String(vec![
                "<pad>".into(),
                "<eos>".into(),
                "<bos>".into(),
                "<unk>".into(),
            ])),
        );
        md.insert(
            "tokenizer.ggml.scores",
            Value::Array(Array::F32(vec![0.0; 4])),
        );
        md.insert(
            "tokenizer.ggml.token_type",
            Value::Array(Array::I32(vec![3, 3, 3, 2])),
        );
        for (key, id) in [("bos", 2), ("eos", 1), ("unknown", 3), ("padding", 0)] {
            md.insert(format!("tokenizer.ggml.{key}_token_id"), Value::U32(id));
        }
        md.insert("tokenizer.chat_template", Value::String("old".into()));
        md
    }

    /// Gemma 3 270M's shape, with the 4-token vocabulary of [`source`].
    fn config() -> Gemma3Config {
        Gemma3Config {
            vocab: 4,
            dim: 640,
            layers: 18,
            heads: 4,
            kv_heads: 1,
            head_dim: 256,
            ff: 2048,
            context: 32768,
            rms_eps: 1e-6,
            rope_theta: 1e6,
            rope_scale: 1.0,
            rope_theta_local: LOCAL_ROPE_THETA,
            sliding_window: 512,
            sliding_window_pattern: SLIDING_WINDOW_PATTERN,
            query_scale: 1.0 / 16.0,
        }
    }

    #[test]
    fn keys_follow_convert_hf_to_gguf_and_llama_quantize_order() {
        let tokenizer = tokenizer_metadata(&source()).unwrap();
        let md = gemma3_metadata(&config(), "x", FileType::Q4KM, &tokenizer);
        let keys: Vec<&str> = md.iter().map(|(k, _)| k).collect();
        let gemma: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|k| k.starts_with("gemma3."))
            .collect();
        assert_eq!(
            gemma,
            [
                "gemma3.context_length",
                "gemma3.embedding_length",
                "gemma3.block_count",
                "gemma3.feed_forward_length",
                "gemma3.attention.head_count",
                "gemma3.attention.layer_norm_rms_epsilon",
                "gemma3.attention.key_length",
                "gemma3.attention.value_length",
                "gemma3.rope.freq_base",
                "gemma3.attention.sliding_window",
                "gemma3.attention.head_count_kv",
            ]
        );
        assert_eq!(
            keys[keys.len() - 3..],
            [
                "tokenizer.chat_template",
                "general.quantization_version",
                "general.file_type"
            ]
        );
        assert_eq!(md.u32("general.file_type").unwrap(), 15);
        assert_eq!(
            md.str("tokenizer.chat_template").unwrap(),
            GEMMA3_CHAT_TEMPLATE
        );
        assert!(md.bool("tokenizer.ggml.add_bos_token").unwrap());
        assert!(!md.bool("tokenizer.ggml.add_space_prefix").unwrap());
        assert_eq!(md.u32("tokenizer.ggml.padding_token_id").unwrap(), 0);
        assert_eq!(gemma3_config_from_metadata(&md).unwrap(), config());
    }

    #[test]
    fn linear_rope_scaling_is_written_and_read_back() {
        let mut c = config();
        c.rope_scale = 0.125;
        let tokenizer = tokenizer_metadata(&source()).unwrap();
        let md = gemma3_metadata(&c, "x", FileType::F16, &tokenizer);
        assert_eq!(md.str("gemma3.rope.scaling.type").unwrap(), "linear");
        assert_eq!(gemma3_config_from_metadata(&md).unwrap().rope_scale, 0.125);
    }

    #[test]
    fn a_bpe_vocabulary_is_refused() {
        let mut md = source();
        md.insert("tokenizer.ggml.model", Value::String("gpt2".into()));
        let err = tokenizer_metadata(&md).unwrap_err().to_string();
        assert!(err.contains("SentencePiece"), "{err}");
    }
}
