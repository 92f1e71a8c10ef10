//! A model's vocabulary as llguidance sees it: each token's bytes in a token trie,
//! control tokens marked special (so no grammar over text ever allows them), the
//! model's stop tokens as the trie's end-of-sequence set. Built once per model: the trie
//! and the bias computer's slices over 128k tokens take a while, every grammar compiled
//! afterwards shares them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use llguidance::api::TopLevelGrammar;
use llguidance::toktrie::{ApproximateTokEnv, InferenceCapabilities, TokRxInfo, TokTrie};
use llguidance::{JsonCompileOptions, ParserFactory};
use serde_json::Value;

use super::byte_level;
use super::compiled::CompiledGrammar;
use okla_formats::gguf::Metadata;
use okla_text::gguf_tokenizer::GgufTokenizer;
use okla_text::gguf_vocab::{vocab_from_metadata, GgufVocab, TOKEN_TYPE_NORMAL};
use okla_text::spm::{SpmTokenizer, TokenAttr};

/// Whitespace allowed between JSON tokens: a space, or one or two newlines and up to 20
/// spaces or tabs of indentation. llama.cpp's JSON-Schema grammars allow exactly this
/// (`space ::= | " " | "\n"{1,2} [ \t]{0,20}`); llguidance's default (any run of
/// whitespace) would let a sampling model pad an answer with blank lines to the token
/// cap.
pub const JSON_WHITESPACE: &str = r"[\x20]|\n{1,2}[\x20\t]{0,20}";

/// The vocabulary of one model, ready to compile grammars against.
pub struct GrammarVocab {
    factory: ParserFactory,
    built_in: Duration,
}

impl std::fmt::Debug for GrammarVocab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrammarVocab")
            .field("tokens", &self.factory.tok_env().tok_trie().vocab_size())
            .field("built_in", &self.built_in)
            .finish()
    }
}

impl GrammarVocab {
    /// The token environment of a vocabulary given as each token's bytes in id order
    /// ([`token_bytes`], [`spm_token_bytes`], [`gguf_token_bytes`]), with `stop_tokens`
    /// (non-empty) the tokens that end an answer. `model_vocab` is the width of the
    /// model's logits, at least the number of tokens the vocabulary names (padding rows
    /// beyond them can never be chosen under a grammar).
    pub fn new(mut words: Vec<Vec<u8>>, stop_tokens: &[u32], model_vocab: usize) -> Result<Self> {
        let start = Instant::now();
        ensure!(
            model_vocab >= words.len(),
            "the model's logits cover {model_vocab} tokens but its vocabulary names {}",
            words.len()
        );
        words.resize(model_vocab, Vec::new());
        let (&eos, _) = stop_tokens
            .split_first()
            .context("a grammar needs at least one stop token")?;
        let size = u32::try_from(words.len()).context("vocabulary too large")?;
        ensure!(
            stop_tokens.iter().all(|&t| t < size),
            "stop tokens {stop_tokens:?} lie outside the vocabulary of {size}"
        );
        let trie = TokTrie::from(&TokRxInfo::new(size, eos), &words).with_eos_tokens(stop_tokens);
        let env = Arc::new(ApproximateTokEnv::new(trie));
        let mut factory = ParserFactory::new(
            &(env as llguidance::toktrie::TokEnv),
            InferenceCapabilities::default(),
            &llguidance::earley::SlicedBiasComputer::general_slices(),
        )
        .context("cannot prepare the vocabulary for grammars")?;
        // Library code never prints: llguidance's warnings would go to stderr.
        factory.quiet();
        Ok(Self {
            factory,
            built_in: start.elapsed(),
        })
    }

    /// How long building the token environment took.
    pub fn built_in(&self) -> Duration {
        self.built_in
    }

    /// Compiles a JSON Schema into a grammar whose answers are one JSON value the
    /// schema accepts. An error says why llguidance refuses the schema.
    pub fn compile_schema(&self, schema: &Value) -> Result<CompiledGrammar> {
        let start = Instant::now();
        let mut schema = schema.clone();
        let object = schema
            .as_object_mut()
            .context("a JSON Schema for a grammar must be an object")?;
        if !object.contains_key("x-guidance") {
            let options = JsonCompileOptions {
                whitespace_pattern: Some(JSON_WHITESPACE.into()),
                ..JsonCompileOptions::default()
            };
            options.apply_to(&mut schema);
        }
        let parser = self
            .factory
            .create_parser(TopLevelGrammar::from_json_schema(schema))?;
        Ok(CompiledGrammar::new(parser, start.elapsed()))
    }

    /// A grammar whose answers are one JSON object of any shape.
    pub fn compile_any_object(&self) -> Result<CompiledGrammar> {
        self.compile_schema(&serde_json::json!({"type": "object"}))
    }
}

/// Every token's bytes, in id order, for the tokenizer a GGUF's metadata describes:
/// [`token_bytes`] for byte-level BPE (`gpt2`), [`spm_token_bytes`] for SentencePiece
/// (`llama`).
pub fn gguf_token_bytes(md: &Metadata) -> Result<Vec<Vec<u8>>> {
    match GgufTokenizer::from_metadata(md)? {
        GgufTokenizer::Bpe { .. } => token_bytes(&vocab_from_metadata(md)?),
        GgufTokenizer::Spm(spm) => spm_token_bytes(&spm),
    }
}

/// Every token's bytes, in id order, of a SentencePiece vocabulary: what each token
/// writes into the text ([`SpmTokenizer::token_to_piece`]: normal pieces with U+2581
/// as spaces, byte tokens as their byte, user-defined tokens as their text, unused
/// ones as nothing), control and unknown tokens as llguidance's special tokens.
pub fn spm_token_bytes(spm: &SpmTokenizer) -> Result<Vec<Vec<u8>>> {
    let vocab = spm.vocab();
    let hidden = TokenAttr::CONTROL.with(TokenAttr::UNKNOWN);
    (0..vocab.len() as u32)
        .map(|id| {
            let attr = vocab.attr(id).unwrap_or_default();
            if attr.has(hidden) {
                Ok(special(vocab.piece(id).unwrap_or_default()))
            } else {
                spm.token_to_piece(id, false)
            }
        })
        .collect()
}

/// llguidance's spelling of a special token: its marker byte, then the name.
fn special(name: &str) -> Vec<u8> {
    let mut bytes = vec![TokTrie::SPECIAL_TOKEN_MARKER];
    bytes.extend_from_slice(name.as_bytes());
    bytes
}

/// Every token's bytes, in id order: byte-level tokens decoded to the bytes they stand
/// for, control (and any other non-normal) tokens as llguidance's special tokens
/// (`\xff` then the name), which no grammar over text matches.
pub fn token_bytes(vocab: &GgufVocab) -> Result<Vec<Vec<u8>>> {
    ensure!(
        vocab.model == "gpt2",
        "grammars need a byte-level BPE vocabulary (tokenizer.ggml.model \"gpt2\"), not {:?}",
        vocab.model
    );
    ensure!(
        vocab.tokens.len() == vocab.token_types.len(),
        "tokenizer.ggml.tokens has {} entries but tokenizer.ggml.token_type has {}",
        vocab.tokens.len(),
        vocab.token_types.len()
    );
    vocab
        .tokens
        .iter()
        .zip(&vocab.token_types)
        .enumerate()
        .map(|(id, (text, &ty))| {
            if ty == TOKEN_TYPE_NORMAL {
                byte_level::decode(text).map_err(|c| {
                    anyhow::anyhow!(
                        "token {id} ({text:?}) holds {c:?}, which is not a byte-level character"
                    )
                })
            } else {
                Ok(special(text))
            }
        })
        .collect()
}
