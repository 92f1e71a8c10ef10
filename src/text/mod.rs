//! Text: the Llama 3 tokenizer (from a `tokenizer.json`, bundled under `models/llama3/`)
//! and its chat template, rendering and tokenizing conversations exactly as Hugging Face
//! `apply_chat_template` does, with the assistant tokens a trainer puts labels on.

mod template;
mod tokenizer;

pub use template::{
    is_python_space, jinja_trim, Llama3Template, RenderedChat, END_HEADER, EOT,
    LLAMA3_CHAT_TEMPLATE, START_HEADER,
};
pub use tokenizer::{ChatEncoding, ChatTokenizer};
