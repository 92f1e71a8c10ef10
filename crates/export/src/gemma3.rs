//! The GGUF metadata of a Gemma 3 text model as llama.cpp writes it: the `gemma3.*`
//! hyper-parameters in `convert_hf_to_gguf.py`'s order (`Gemma3Model.set_gguf_parameters`),
//! the SentencePiece `tokenizer.ggml.*` tables copied from a Gemma 3 GGUF, Gemma 3's
//! chat template, and `general.quantization_version` / `general.file_type` last, where
//! llama-quantize leaves them. A file written from these keys at F32 and re-quantized
//! by llama-quantize therefore has the same metadata, in the same order, as the file
//! our exporter writes at the target type directly.

use anyhow::{ensure, Context, Result};

use okla_formats::gemma3_config::Gemma3Config;
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
    use okla_formats::hf::config::HfConfig;

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
        let json = include_str!("../../../tests/data/hf/gemma3_270m_config.json");
        let hf = HfConfig::from_json(serde_json::from_str(json).unwrap()).unwrap();
        Gemma3Config {
            vocab: 4,
            ..hf.gemma3_config().unwrap()
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
