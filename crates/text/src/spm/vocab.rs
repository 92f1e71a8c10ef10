//! [`SpmVocab`]: a SentencePiece vocabulary as llama.cpp loads it from GGUF metadata
//! (`tokenizer.ggml.model = "llama"`): pieces, scores, per-token attributes, the
//! special token ids and the flags that say how text is prepared and wrapped.

use std::collections::HashMap;

use anyhow::{bail, ensure, Context, Result};

use okla_formats::gguf::Metadata;

/// What a token is, as llama.cpp's `llama_token_attr` bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenAttr(u32);

impl TokenAttr {
    /// Type 0 or a type llama.cpp does not know.
    pub const UNDEFINED: Self = Self(0);
    /// The unknown token (`<unk>` when its type says so).
    pub const UNKNOWN: Self = Self(1);
    /// A reserved, never-produced token.
    pub const UNUSED: Self = Self(2);
    /// An ordinary piece (spaces written as U+2581).
    pub const NORMAL: Self = Self(4);
    /// A control token (`<bos>`, `<start_of_turn>`): matched in text only when special
    /// tokens are parsed, written out only when asked.
    pub const CONTROL: Self = Self(8);
    /// A user-defined token: always matched whole in text, written out verbatim.
    pub const USER_DEFINED: Self = Self(16);
    /// A byte fallback token `<0xNN>`.
    pub const BYTE: Self = Self(32);

    /// The attribute of a GGUF `tokenizer.ggml.token_type` value.
    pub fn from_token_type(token_type: i32) -> Self {
        match token_type {
            1 => Self::NORMAL,
            2 => Self::UNKNOWN,
            3 => Self::CONTROL,
            4 => Self::USER_DEFINED,
            5 => Self::UNUSED,
            6 => Self::BYTE,
            _ => Self::UNDEFINED,
        }
    }

    /// Whether any bit of `other` is set.
    pub const fn has(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// The union of both bit sets.
    pub const fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

/// Names llama.cpp treats as control tokens whatever their stored type (its end of
/// turn, end of generation and fill-in-the-middle lists), e.g. Gemma 3's `</s>`.
const CONTROL_LOOKING: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<｜end▁of▁sentence｜>",
    "<end_of_utterance>",
    "<|eom_id|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "</s>",
    "[EOS]",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "[e~[",
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<｜fim▁begin｜>",
    "<PRE>",
    "▁<PRE>",
    "<|code_prefix|>",
    "<|prefix|>",
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<｜fim▁hole｜>",
    "<SUF>",
    "▁<SUF>",
    "<|code_suffix|>",
    "<|suffix|>",
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<｜fim▁end｜>",
    "<MID>",
    "▁<MID>",
    "<|code_middle|>",
    "<|middle|>",
    "<|fim_pad|>",
    "<fim-pad>",
    "<fim_pad>",
    "<PAD>",
    "[PAD]",
    "<|fim_repo|>",
    "<|repo_name|>",
    "<fim-repo>",
    "<REPO>",
    "<reponame>",
    "<|file_sep|>",
];

/// Special token ids of a vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialIds {
    /// Beginning of sequence (`tokenizer.ggml.bos_token_id`, default 1).
    pub bos: u32,
    /// End of sequence (`tokenizer.ggml.eos_token_id`, default 2).
    pub eos: u32,
    /// Unknown (`tokenizer.ggml.unknown_token_id`, default 0).
    pub unk: u32,
}

/// How text is prepared and wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpmFlags {
    /// Prepend a space to text that starts the input or follows a special token
    /// (`tokenizer.ggml.add_space_prefix`, default true; Gemma 3 stores false).
    pub add_space_prefix: bool,
    /// Add BOS when special tokens are added (`tokenizer.ggml.add_bos_token`, default true).
    pub add_bos: bool,
    /// Add EOS when special tokens are added (`tokenizer.ggml.add_eos_token`, default false).
    pub add_eos: bool,
}

impl Default for SpmFlags {
    fn default() -> Self {
        Self {
            add_space_prefix: true,
            add_bos: true,
            add_eos: false,
        }
    }
}

/// A SentencePiece vocabulary.
#[derive(Debug, Clone)]
pub struct SpmVocab {
    pieces: Vec<String>,
    scores: Vec<f32>,
    attrs: Vec<TokenAttr>,
    ids: HashMap<String, u32>,
    special: SpecialIds,
    flags: SpmFlags,
}

impl SpmVocab {
    /// A vocabulary from its tables: piece text, score and GGUF token type by id.
    /// Empty pieces become `[EMPTY_<id>]` and control-looking names become control
    /// tokens, as llama.cpp does; duplicate pieces and out-of-range ids are errors.
    pub fn new(
        pieces: Vec<String>,
        scores: Vec<f32>,
        token_types: Vec<i32>,
        special: SpecialIds,
        flags: SpmFlags,
    ) -> Result<Self> {
        let n = pieces.len();
        ensure!(
            scores.len() == n && token_types.len() == n,
            "vocabulary tables disagree: {n} tokens, {} scores, {} token types",
            scores.len(),
            token_types.len()
        );
        ensure!(
            n <= u32::MAX as usize,
            "vocabulary of {n} tokens is too large"
        );
        let pieces: Vec<String> = pieces
            .into_iter()
            .enumerate()
            .map(|(id, p)| {
                if p.is_empty() {
                    format!("[EMPTY_{id}]")
                } else {
                    p
                }
            })
            .collect();
        let mut ids = HashMap::with_capacity(n);
        for (id, piece) in pieces.iter().enumerate() {
            if let Some(first) = ids.insert(piece.clone(), id as u32) {
                bail!("duplicate token in vocabulary: {piece:?} has ids {first} and {id}");
            }
        }
        let attrs = pieces
            .iter()
            .zip(&token_types)
            .map(|(piece, &ty)| attribute(piece, ty))
            .collect();
        for (name, id) in [
            ("BOS", special.bos),
            ("EOS", special.eos),
            ("unknown", special.unk),
        ] {
            ensure!(
                (id as usize) < n,
                "{name} token id {id} is outside the vocabulary of {n} tokens"
            );
        }
        Ok(Self {
            pieces,
            scores,
            attrs,
            ids,
            special,
            flags,
        })
    }

    /// The `tokenizer.ggml.*` tables and flags of a GGUF file whose
    /// `tokenizer.ggml.model` is `llama`.
    pub fn from_metadata(md: &Metadata) -> Result<Self> {
        let pieces = md.str_array("tokenizer.ggml.tokens")?.to_vec();
        let n = pieces.len();
        let scores = md
            .optional("tokenizer.ggml.scores", Metadata::f32_array)?
            .map_or_else(|| vec![0.0; n], <[f32]>::to_vec);
        let token_types = md
            .optional("tokenizer.ggml.token_type", Metadata::i32_array)?
            .map_or_else(|| vec![1; n], <[i32]>::to_vec);
        let id = |key: &str, default: u32| -> Result<u32> {
            Ok(md.optional(key, Metadata::u32)?.unwrap_or(default))
        };
        let flag = |key: &str, default: bool| -> Result<bool> {
            Ok(md.optional(key, Metadata::bool)?.unwrap_or(default))
        };
        let special = SpecialIds {
            bos: id("tokenizer.ggml.bos_token_id", 1)?,
            eos: id("tokenizer.ggml.eos_token_id", 2)?,
            unk: id("tokenizer.ggml.unknown_token_id", 0)?,
        };
        let flags = SpmFlags {
            add_space_prefix: flag("tokenizer.ggml.add_space_prefix", true)?,
            add_bos: flag("tokenizer.ggml.add_bos_token", true)?,
            add_eos: flag("tokenizer.ggml.add_eos_token", false)?,
        };
        Self::new(pieces, scores, token_types, special, flags)
            .context("invalid SentencePiece vocabulary in tokenizer.ggml.*")
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    /// Whether the vocabulary has no tokens.
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// The stored text of a token.
    pub fn piece(&self, id: u32) -> Option<&str> {
        self.pieces.get(id as usize).map(String::as_str)
    }

    /// The merge score of a token.
    pub fn score(&self, id: u32) -> Option<f32> {
        self.scores.get(id as usize).copied()
    }

    /// The attributes of a token.
    pub fn attr(&self, id: u32) -> Option<TokenAttr> {
        self.attrs.get(id as usize).copied()
    }

    /// The id of a piece written exactly (any token type).
    pub fn id(&self, piece: &str) -> Option<u32> {
        self.ids.get(piece).copied()
    }

    /// The byte fallback token of a byte: `<0xNN>`, else the one-byte piece.
    pub fn byte_token(&self, byte: u8) -> Option<u32> {
        self.id(&format!("<0x{byte:02X}>"))
            .or_else(|| std::str::from_utf8(&[byte]).ok().and_then(|s| self.id(s)))
    }

    /// Special token ids.
    pub fn special(&self) -> SpecialIds {
        self.special
    }

    /// Preparation and wrapping flags.
    pub fn flags(&self) -> SpmFlags {
        self.flags
    }
}

/// llama.cpp's attribute of a token: its stored type, plus control for the names it
/// recognises as control tokens, plus unused for control tokens named `unused`.
fn attribute(piece: &str, token_type: i32) -> TokenAttr {
    let mut attr = TokenAttr::from_token_type(token_type);
    if CONTROL_LOOKING.contains(&piece) {
        attr = attr.with(TokenAttr::CONTROL);
    }
    if attr.has(TokenAttr::CONTROL) && piece.contains("unused") {
        attr = attr.with(TokenAttr::UNUSED);
    }
    attr
}
