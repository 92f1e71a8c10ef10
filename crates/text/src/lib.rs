//! okla-text: what a chat request is made of, above the file formats. Chat messages
//! and JSONL conversations with file:line errors ([`chat`]), decoding settings
//! ([`Decoding`]), the vocabulary a GGUF stores ([`gguf_vocab`]), the tokenizer a GGUF
//! describes ([`gguf_tokenizer`]: byte-level BPE or SentencePiece ([`spm`])), and the Llama 3
//! tokenizer (from a `tokenizer.json`, bundled under `models/llama3/`)
//! and its chat template, rendering and tokenizing conversations exactly as Hugging Face
//! `apply_chat_template` does, with the assistant tokens a trainer puts labels on.

#![warn(missing_docs)]

pub mod chat;
mod decoding;
pub mod gguf_tokenizer;
pub mod gguf_vocab;
pub mod spm;
mod template;
mod tokenizer;

pub use chat::{Conversation, Message, Role};
pub use decoding::{Decoding, Grammar};

pub use template::{
    is_python_space, jinja_trim, Llama3Template, RenderedChat, END_HEADER, EOT,
    LLAMA3_CHAT_TEMPLATE, START_HEADER,
};
pub use tokenizer::{ChatEncoding, ChatTokenizer};
