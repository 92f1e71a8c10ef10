//! [`GgufTokenizer`]: the tokenizer a GGUF file describes, chosen by its
//! `tokenizer.ggml.model`: `gpt2` is byte-level BPE ([`crate::gguf_vocab`], Llama 3),
//! `llama` is SentencePiece ([`crate::spm`], Gemma 3). Any other is refused.

use anyhow::{anyhow, bail, Result};
use tokenizers::Tokenizer;

use okla_formats::gguf::Metadata;

use crate::gguf_vocab::vocab_from_metadata;
use crate::spm::{SpmTokenizer, SpmVocab};

/// A GGUF file's tokenizer.
#[derive(Debug, Clone)]
pub enum GgufTokenizer {
    /// Byte-level BPE (`tokenizer.ggml.model = "gpt2"`).
    Bpe {
        /// The equivalent `tokenizers` tokenizer.
        tokenizer: Box<Tokenizer>,
        /// The BOS id to add, when the model adds one (`tokenizer.ggml.add_bos_token`,
        /// default true as llama.cpp for Llama 3).
        bos: Option<u32>,
    },
    /// SentencePiece (`tokenizer.ggml.model = "llama"`).
    Spm(SpmTokenizer),
}

impl GgufTokenizer {
    /// The tokenizer of a GGUF file's metadata.
    pub fn from_metadata(md: &Metadata) -> Result<Self> {
        let model = md.str("tokenizer.ggml.model")?;
        match model {
            "gpt2" => {
                let vocab = vocab_from_metadata(md)?;
                let add_bos = md
                    .optional("tokenizer.ggml.add_bos_token", Metadata::bool)?
                    .unwrap_or(true);
                Ok(Self::Bpe {
                    tokenizer: Box::new(vocab.to_tokenizer()?),
                    bos: vocab.bos.filter(|_| add_bos),
                })
            }
            "llama" => Ok(Self::Spm(SpmTokenizer::new(SpmVocab::from_metadata(md)?))),
            other => bail!(
                "unsupported tokenizer: tokenizer.ggml.model is {other:?}; supported are \
                 \"gpt2\" (byte-level BPE) and \"llama\" (SentencePiece)"
            ),
        }
    }

    /// Token ids of `text` with BOS as the model adds it and special tokens written in
    /// the text recognised (llama-tokenize's defaults).
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>> {
        match self {
            Self::Bpe { tokenizer, bos } => {
                let encoding = tokenizer
                    .encode_fast(text, false)
                    .map_err(|e| anyhow!("tokenizing failed: {e}"))?;
                Ok(bos
                    .iter()
                    .copied()
                    .chain(encoding.get_ids().iter().copied())
                    .collect())
            }
            Self::Spm(spm) => Ok(spm.tokenize(text, true, true)),
        }
    }

    /// The bytes one token stands for, special tokens written out.
    pub fn piece(&self, id: u32) -> Result<Vec<u8>> {
        match self {
            Self::Bpe { tokenizer, .. } => tokenizer
                .decode(&[id], false)
                .map(String::into_bytes)
                .map_err(|e| anyhow!("decoding token {id} failed: {e}")),
            Self::Spm(spm) => spm.token_to_piece(id, true),
        }
    }
}
