//! okla-text: what a chat request is made of, above the file formats. Chat messages
//! and JSONL conversations with file:line errors ([`chat`]), decoding settings
//! ([`Decoding`]), the vocabulary a GGUF stores ([`gguf_vocab`]), the tokenizer a GGUF
//! describes ([`gguf_tokenizer`]: byte-level BPE or SentencePiece ([`spm`])), the Llama 3
//! tokenizer (from a `tokenizer.json`, bundled under `models/llama3/`), and the Llama 3
//! and Gemma 3 chat templates ([`ChatTemplate`]), rendering and tokenizing conversations
//! exactly as Hugging Face `apply_chat_template` does, with the assistant tokens a
//! trainer puts labels on.

#![warn(missing_docs)]

pub mod chat;
mod decoding;
mod gemma_template;
pub mod gguf_tokenizer;
pub mod gguf_vocab;
pub mod spm;
mod template;
mod tokenizer;

pub use chat::{Conversation, Message, Role};
pub use decoding::{Decoding, Grammar};

pub use gemma_template::{
    Gemma3Template, END_OF_TURN, GEMMA3_CHAT_TEMPLATE, GEMMA_BOS, START_OF_TURN,
};
pub use template::{
    is_python_space, jinja_trim, Llama3Template, RenderedChat, END_HEADER, EOT,
    LLAMA3_CHAT_TEMPLATE, START_HEADER,
};
pub use tokenizer::{ChatEncoding, ChatTemplate, ChatTokenizer};
