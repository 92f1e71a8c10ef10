//! The SentencePiece (SPM) tokenizer of GGUF files whose `tokenizer.ggml.model` is
//! `llama` (Gemma 3, Llama 2), written to give llama.cpp's ids: special tokens split
//! out first ([`special`]), each remaining fragment optionally prefixed with a space,
//! spaces escaped as U+2581 and merged by score ([`merge`]), BOS/EOS added as the
//! model's flags say. [`SpmTokenizer::detokenize`] is llama.cpp's `llama_detokenize`.
//!
//! Special tokens: user-defined tokens (Gemma 3's runs of spaces, newlines and tabs,
//! its HTML tags) are always matched whole; control and unknown tokens
//! (`<start_of_turn>`, `<bos>`, and Gemma 3's `</s>`, user-defined but made control by
//! llama.cpp's list of end tokens) only when `parse_special` is true, as llama.cpp's
//! `parse_special` and llama-cpp-python's `Llama.tokenize(..., special=True)`.
//! llama.cpp's per-model left/right stripping around special tokens (Phi-3, some
//! BERTs) does not apply to SPM vocabularies of interest and is not implemented.

mod merge;
mod special;
mod vocab;

use anyhow::{anyhow, Result};

pub use vocab::{SpecialIds, SpmFlags, SpmVocab, TokenAttr};

use special::Fragment;

/// Control and unknown tokens: matched in text and written out only on request. A
/// user-defined token that is also control (Gemma 3's `</s>`) counts as control.
const HIDDEN: TokenAttr = TokenAttr::CONTROL.with(TokenAttr::UNKNOWN);

/// A SentencePiece tokenizer.
#[derive(Debug, Clone)]
pub struct SpmTokenizer {
    vocab: SpmVocab,
    /// Control, user-defined and unknown tokens, longest first (ties: lower id first).
    specials: Vec<u32>,
}

impl SpmTokenizer {
    /// The tokenizer of a vocabulary.
    pub fn new(vocab: SpmVocab) -> Self {
        let special_attrs = TokenAttr::CONTROL
            .with(TokenAttr::USER_DEFINED)
            .with(TokenAttr::UNKNOWN);
        let mut specials: Vec<u32> = (0..vocab.len() as u32)
            .filter(|&id| vocab.attr(id).is_some_and(|a| a.has(special_attrs)))
            .collect();
        specials.sort_by_key(|&id| (std::cmp::Reverse(vocab.piece(id).map_or(0, str::len)), id));
        Self { vocab, specials }
    }

    /// The vocabulary.
    pub fn vocab(&self) -> &SpmVocab {
        &self.vocab
    }

    /// Token ids of `text`. `add_special` adds BOS (and EOS) as the model's flags say;
    /// `parse_special` also matches control tokens written in the text.
    pub fn tokenize(&self, text: &str, add_special: bool, parse_special: bool) -> Vec<u32> {
        let matched: Vec<(u32, &str)> = self
            .specials
            .iter()
            .filter(|&&id| parse_special || !self.attr(id).has(HIDDEN))
            .filter_map(|&id| self.vocab.piece(id).map(|p| (id, p)))
            .collect();
        let flags = self.vocab.flags();
        let special = self.vocab.special();
        let mut out = Vec::new();
        if add_special && flags.add_bos {
            out.push(special.bos);
        }
        let mut after_special = true;
        for fragment in special::partition(text, &matched) {
            match fragment {
                Fragment::Token(id) => {
                    out.push(id);
                    after_special = true;
                }
                Fragment::Text(t) => {
                    let prefix = if flags.add_space_prefix && after_special {
                        " "
                    } else {
                        ""
                    };
                    let escaped = format!("{prefix}{t}").replace(' ', "\u{2581}");
                    merge::encode_fragment(&self.vocab, &escaped, &mut out);
                    after_special = false;
                }
            }
        }
        if add_special && flags.add_eos {
            out.push(special.eos);
        }
        out
    }

    /// The bytes a token stands for: normal pieces with U+2581 as spaces, byte tokens
    /// as their byte, control and unknown tokens as their text only when `special`
    /// (else nothing), user-defined tokens as their text, unused tokens as nothing.
    pub fn token_to_piece(&self, id: u32, special: bool) -> Result<Vec<u8>> {
        let piece = self.vocab.piece(id).ok_or_else(|| {
            anyhow!(
                "token id {id} is outside the vocabulary of {} tokens",
                self.vocab.len()
            )
        })?;
        let attr = self.attr(id);
        Ok(if attr.has(HIDDEN) {
            if special {
                piece.as_bytes().to_vec()
            } else {
                Vec::new()
            }
        } else if attr.has(TokenAttr::USER_DEFINED) {
            piece.as_bytes().to_vec()
        } else if attr.has(TokenAttr::NORMAL) {
            piece.replace('\u{2581}', " ").into_bytes()
        } else if attr.has(TokenAttr::BYTE) {
            vec![byte_of(piece)
                .ok_or_else(|| anyhow!("byte token {id} is {piece:?}, not <0xNN>"))?]
        } else {
            Vec::new()
        })
    }

    /// The text of `ids`, as llama.cpp's `llama_detokenize`: `remove_special` drops a
    /// leading BOS and trailing EOS the model adds; `unparse_special` writes control
    /// tokens out. With `add_space_prefix`, the space the tokenizer prepended is removed
    /// (unless a BOS was dropped, as llama.cpp does).
    pub fn detokenize(
        &self,
        ids: &[u32],
        remove_special: bool,
        unparse_special: bool,
    ) -> Result<Vec<u8>> {
        let flags = self.vocab.flags();
        let special = self.vocab.special();
        let mut ids = ids;
        let mut strip_space = flags.add_space_prefix;
        if remove_special && flags.add_bos && ids.first() == Some(&special.bos) {
            strip_space = false;
            ids = &ids[1..];
        }
        if remove_special && flags.add_eos && ids.last() == Some(&special.eos) {
            ids = &ids[..ids.len() - 1];
        }
        let mut text = Vec::new();
        for &id in ids {
            let piece = self.token_to_piece(id, unparse_special)?;
            let skip = usize::from(strip_space && piece.first() == Some(&b' '));
            text.extend_from_slice(&piece[skip..]);
            strip_space = false;
        }
        Ok(text)
    }

    fn attr(&self, id: u32) -> TokenAttr {
        self.vocab.attr(id).unwrap_or_default()
    }
}

/// The byte of a `<0xNN>` piece.
fn byte_of(piece: &str) -> Option<u8> {
    let hex = piece.strip_prefix("<0x")?.strip_suffix('>')?;
    u8::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests;
