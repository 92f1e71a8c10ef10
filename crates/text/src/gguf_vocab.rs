//! The tokenizer stored in GGUF metadata (`tokenizer.ggml.*`), converted to and from a
//! `tokenizers::Tokenizer`. Only the GPT-2 byte-level BPE with the `llama-bpe`
//! pre-tokenizer (Llama 3) is supported; it gives the same ids as Llama 3's
//! `tokenizer.json`.

use anyhow::{anyhow, bail, ensure, Context, Result};
use serde_json::{json, Value};
use tokenizers::Tokenizer;

use okla_formats::gguf::Metadata;

/// The Llama 3 pre-tokenizer split pattern (llama.cpp's `llama-bpe`).
pub const LLAMA3_SPLIT_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// GGUF `tokenizer.ggml.token_type` of ordinary tokens.
pub const TOKEN_TYPE_NORMAL: i32 = 1;
/// GGUF `tokenizer.ggml.token_type` of control (special) tokens.
pub const TOKEN_TYPE_CONTROL: i32 = 3;

/// A vocabulary as GGUF metadata holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufVocab {
    /// `tokenizer.ggml.model` (must be `gpt2`).
    pub model: String,
    /// `tokenizer.ggml.pre` (must be `llama-bpe`).
    pub pre: String,
    /// `tokenizer.ggml.tokens`: token text by id (byte-level encoded).
    pub tokens: Vec<String>,
    /// `tokenizer.ggml.token_type`: one type per token.
    pub token_types: Vec<i32>,
    /// `tokenizer.ggml.merges`: `"left right"` pairs in priority order.
    pub merges: Vec<String>,
    /// `tokenizer.ggml.bos_token_id`.
    pub bos: Option<u32>,
    /// `tokenizer.ggml.eos_token_id`.
    pub eos: Option<u32>,
}

impl GgufVocab {
    /// The vocabulary of a `tokenizers` byte-level BPE tokenizer (e.g. Llama 3's
    /// tokenizer.json), as GGUF metadata: added tokens become control tokens.
    pub fn from_tokenizer(tokenizer: &Tokenizer, bos: &str, eos: &str) -> Result<Self> {
        let json: Value = serde_json::from_str(
            &tokenizer
                .to_string(false)
                .map_err(|e| anyhow!("cannot serialize tokenizer: {e}"))?,
        )?;
        let merges = json["model"]["merges"]
            .as_array()
            .context("tokenizer has no BPE merges")?
            .iter()
            .map(|m| match m {
                Value::String(s) => Ok(s.clone()),
                Value::Array(pair) if pair.len() == 2 => Ok(format!(
                    "{} {}",
                    pair[0].as_str().unwrap_or_default(),
                    pair[1].as_str().unwrap_or_default()
                )),
                other => Err(anyhow!("unexpected merge entry {other}")),
            })
            .collect::<Result<Vec<_>>>()?;
        let size = tokenizer.get_vocab_size(true);
        let mut tokens = vec![String::new(); size];
        for (text, id) in tokenizer.get_vocab(true) {
            let slot = tokens
                .get_mut(id as usize)
                .with_context(|| format!("token id {id} beyond vocabulary size {size}"))?;
            *slot = text;
        }
        let added: std::collections::HashSet<u32> =
            tokenizer.get_added_tokens_decoder().into_keys().collect();
        let token_types = (0..size as u32)
            .map(|id| {
                if added.contains(&id) {
                    TOKEN_TYPE_CONTROL
                } else {
                    TOKEN_TYPE_NORMAL
                }
            })
            .collect();
        Ok(Self {
            model: "gpt2".into(),
            pre: "llama-bpe".into(),
            tokens,
            token_types,
            merges,
            bos: tokenizer.token_to_id(bos),
            eos: tokenizer.token_to_id(eos),
        })
    }

    /// The chat tokenizer of this vocabulary: [`Self::to_tokenizer`] with the Llama 3
    /// chat template around the vocabulary's BOS token (`<|begin_of_text|>` when unset).
    pub fn chat_tokenizer(&self) -> Result<crate::ChatTokenizer> {
        let bos_token = self
            .bos
            .and_then(|id| self.tokens.get(id as usize).cloned())
            .unwrap_or_else(|| "<|begin_of_text|>".into());
        Ok(crate::ChatTokenizer::from_parts(
            self.to_tokenizer()?,
            crate::Llama3Template { bos_token },
        ))
    }

    /// Builds the equivalent `tokenizers::Tokenizer` (Llama 3's tokenizer.json layout).
    pub fn to_tokenizer(&self) -> Result<Tokenizer> {
        ensure!(
            self.model == "gpt2",
            "tokenizer.ggml.model is {:?}; only \"gpt2\" (byte-level BPE) is supported",
            self.model
        );
        if self.pre != "llama-bpe" && self.pre != "llama3" {
            bail!(
                "tokenizer.ggml.pre is {:?}; only \"llama-bpe\" (Llama 3) is supported",
                self.pre
            );
        }
        ensure!(
            self.tokens.len() == self.token_types.len(),
            "tokenizer.ggml.tokens has {} entries but tokenizer.ggml.token_type has {}",
            self.tokens.len(),
            self.token_types.len()
        );
        let mut vocab = serde_json::Map::new();
        let mut added = Vec::new();
        for (id, (text, ty)) in self.tokens.iter().zip(&self.token_types).enumerate() {
            if *ty == TOKEN_TYPE_NORMAL {
                vocab.insert(text.clone(), json!(id));
            } else {
                added.push(json!({
                    "id": id, "content": text, "single_word": false, "lstrip": false,
                    "rstrip": false, "normalized": false, "special": true
                }));
            }
        }
        let spec = json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": added,
            "normalizer": null,
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": LLAMA3_SPLIT_REGEX}, "behavior": "Isolated", "invert": false},
                {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}
            ]},
            "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
            "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
            "model": {
                "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
                "ignore_merges": true, "vocab": vocab, "merges": self.merges
            }
        });
        spec.to_string()
            .parse::<Tokenizer>()
            .map_err(|e| anyhow!("GGUF vocabulary does not form a valid BPE tokenizer: {e}"))
    }
}

/// The `tokenizer.ggml.*` tables.
pub fn vocab_from_metadata(md: &Metadata) -> Result<GgufVocab> {
    let vocab = GgufVocab {
        model: md.str("tokenizer.ggml.model")?.to_string(),
        pre: md
            .str("tokenizer.ggml.pre")
            .unwrap_or("default")
            .to_string(),
        tokens: md.str_array("tokenizer.ggml.tokens")?.to_vec(),
        token_types: md.i32_array("tokenizer.ggml.token_type")?.to_vec(),
        merges: md.str_array("tokenizer.ggml.merges")?.to_vec(),
        bos: md.u32("tokenizer.ggml.bos_token_id").ok(),
        eos: md.u32("tokenizer.ggml.eos_token_id").ok(),
    };
    Ok(vocab)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChatTokenizer;

    /// The tokenizer rebuilt from GGUF-style metadata encodes like tokenizer.json.
    #[test]
    fn gguf_vocab_round_trip_gives_the_same_ids() {
        let reference = ChatTokenizer::llama3().unwrap();
        let vocab = GgufVocab::from_tokenizer(
            reference.hf_tokenizer().unwrap(),
            "<|begin_of_text|>",
            "<|eot_id|>",
        )
        .unwrap();
        assert_eq!(vocab.tokens.len(), 128256);
        assert_eq!(vocab.bos, Some(128000));
        assert_eq!(vocab.eos, Some(128009));
        assert_eq!(vocab.token_types[128009], TOKEN_TYPE_CONTROL);
        assert_eq!(vocab.token_types[100], TOKEN_TYPE_NORMAL);
        let rebuilt = vocab.to_tokenizer().unwrap();
        let texts = [
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nklk, ¿tienen una yipeta pela'o como de 800 mil?<|eot_id|>",
            "  Hola!!  123456 RD$2,850,000\n\n\tños 'll 'VE don't",
            "{\"response\": \"Claro\", \"intent\": \"VehiclePrice\", \"confidence\": 0.95}",
            "日本語のテキスト 🚗🚙 emojis",
        ];
        for text in texts {
            let a = reference
                .hf_tokenizer()
                .unwrap()
                .encode(text, false)
                .unwrap();
            let b = rebuilt.encode(text, false).unwrap();
            assert_eq!(a.get_ids(), b.get_ids(), "{text:?}");
            assert_eq!(rebuilt.decode(b.get_ids(), false).unwrap(), text);
        }
    }

    #[test]
    fn other_tokenizer_models_are_refused() {
        let vocab = GgufVocab {
            model: "llama".into(),
            pre: "default".into(),
            tokens: vec![],
            token_types: vec![],
            merges: vec![],
            bos: None,
            eos: None,
        };
        let err = vocab.to_tokenizer().unwrap_err().to_string();
        assert!(err.contains("gpt2"), "{err}");
    }
}
