//! [`ChatTokenizer`]: a `tokenizer.json` tokenizer plus the chat template of its
//! `tokenizer_config.json`, turning conversations into token ids the way Hugging Face
//! `apply_chat_template(..., tokenize=True)` does (special tokens recognised in the
//! rendered text, no extra special tokens added by the post-processor).

use std::ops::Range;
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use tokenizers::Tokenizer;

use super::template::{Llama3Template, RenderedChat};
use crate::chat::Message;
use okla_formats::error::InputError;

/// The bundled Llama 3 `tokenizer.json` (see `models/llama3/README.md`).
const LLAMA3_TOKENIZER_JSON: &[u8] = include_bytes!("../../../models/llama3/tokenizer.json");
/// The bundled Llama 3 `tokenizer_config.json` (holds the chat template and BOS token).
const LLAMA3_TOKENIZER_CONFIG: &str = include_str!("../../../models/llama3/tokenizer_config.json");

/// A tokenizer with its chat template.
#[derive(Clone)]
pub struct ChatTokenizer {
    tokenizer: Tokenizer,
    template: Llama3Template,
}

/// A tokenized conversation with the tokens training puts labels on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatEncoding {
    /// Token ids of the whole rendered conversation (generation prompt included).
    pub ids: Vec<u32>,
    /// For each assistant message, in order, the token index range covering its
    /// content and its closing `<|eot_id|>`.
    pub assistant_spans: Vec<Range<usize>>,
}

impl ChatEncoding {
    /// One flag per token: true for assistant content and its `<|eot_id|>`.
    pub fn assistant_mask(&self) -> Vec<bool> {
        let mut mask = vec![false; self.ids.len()];
        for span in &self.assistant_spans {
            mask[span.clone()].iter_mut().for_each(|m| *m = true);
        }
        mask
    }
}

impl std::fmt::Debug for ChatTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTokenizer")
            .field("vocab_size", &self.tokenizer.get_vocab_size(true))
            .field("template", &self.template)
            .finish()
    }
}

impl ChatTokenizer {
    /// The Llama 3 tokenizer and chat template bundled in the binary.
    pub fn llama3() -> Result<Self> {
        let tokenizer = Tokenizer::from_bytes(LLAMA3_TOKENIZER_JSON)
            .map_err(|e| anyhow!("the bundled Llama 3 tokenizer.json does not load: {e}"))?;
        let template = Llama3Template::from_config(
            LLAMA3_TOKENIZER_CONFIG,
            Path::new("models/llama3/tokenizer_config.json"),
        )?;
        Ok(Self {
            tokenizer,
            template,
        })
    }

    /// A tokenizer built elsewhere (e.g. from GGUF metadata) with a chat template.
    pub fn from_parts(tokenizer: Tokenizer, template: Llama3Template) -> Self {
        Self {
            tokenizer,
            template,
        }
    }

    /// Load `tokenizer.json` and `tokenizer_config.json` from a folder.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let tokenizer_path = dir.join("tokenizer.json");
        let config_path = dir.join("tokenizer_config.json");
        let tokenizer_bytes = std::fs::read(&tokenizer_path)
            .map_err(|e| InputError::file(&tokenizer_path, format!("cannot read: {e}")))?;
        let tokenizer = Tokenizer::from_bytes(&tokenizer_bytes)
            .map_err(|e| InputError::file(&tokenizer_path, format!("not a tokenizer.json: {e}")))?;
        let config = std::fs::read_to_string(&config_path)
            .map_err(|e| InputError::file(&config_path, format!("cannot read: {e}")))?;
        let template = Llama3Template::from_config(&config, &config_path)?;
        Ok(Self {
            tokenizer,
            template,
        })
    }

    /// The underlying `tokenizers` tokenizer (vocabulary, decoding, special tokens).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The chat template.
    pub fn template(&self) -> &Llama3Template {
        &self.template
    }

    /// Tokenize text, recognising special tokens written in it, adding none.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self
            .tokenizer
            .encode_fast(text, false)
            .map_err(|e| anyhow!("tokenizing failed: {e}"))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Decode ids back to text, special tokens written out.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.tokenizer
            .decode(ids, false)
            .map_err(|e| anyhow!("decoding failed: {e}"))
    }

    /// The id of a token written exactly (e.g. `<|eot_id|>`), if the vocabulary has it.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.tokenizer.token_to_id(token)
    }

    /// Render a conversation with the chat template (generation prompt included).
    pub fn render(&self, messages: &[Message]) -> RenderedChat {
        self.template.render(messages)
    }

    /// Token ids of a rendered conversation, as `apply_chat_template(tokenize=True)`.
    pub fn encode_chat(&self, messages: &[Message]) -> Result<Vec<u32>> {
        self.encode(&self.render(messages).text)
    }

    /// The token length of a rendered conversation.
    pub fn count_chat_tokens(&self, messages: &[Message]) -> Result<usize> {
        let text = self.render(messages).text;
        let encoding = self
            .tokenizer
            .encode_fast(text.as_str(), false)
            .map_err(|e| anyhow!("tokenizing failed: {e}"))?;
        Ok(encoding.len())
    }

    /// Token ids plus, per assistant message, the token range of its content and
    /// `<|eot_id|>`: the tokens a trainer computes loss on.
    pub fn encode_chat_with_assistant_mask(&self, messages: &[Message]) -> Result<ChatEncoding> {
        let rendered = self.render(messages);
        let encoding = self
            .tokenizer
            .encode(rendered.text.as_str(), false)
            .map_err(|e| anyhow!("tokenizing failed: {e}"))?;
        let offsets = encoding.get_offsets();
        let assistant_spans = rendered
            .assistant_spans
            .iter()
            .map(|bytes| token_span(offsets, bytes))
            .collect::<Result<Vec<_>>>()
            .context("locating assistant tokens")?;
        Ok(ChatEncoding {
            ids: encoding.get_ids().to_vec(),
            assistant_spans,
        })
    }
}

/// The range of tokens whose byte offsets lie inside `bytes`. Special tokens split
/// the text before byte-level BPE runs, and a trimmed content never starts with the
/// whitespace that could join the header's "\n\n", so no token straddles an edge;
/// a straddling token would be a bug and is reported as one.
fn token_span(offsets: &[(usize, usize)], bytes: &Range<usize>) -> Result<Range<usize>> {
    let first = offsets.partition_point(|&(start, _)| start < bytes.start);
    let end = offsets.partition_point(|&(start, _)| start < bytes.end);
    let straddles_start = first > 0 && offsets[first - 1].1 > bytes.start;
    let straddles_end = end > first && offsets[end - 1].1 > bytes.end;
    if straddles_start || straddles_end || end == first {
        return Err(anyhow!(
            "tokens do not align with assistant content at bytes {}..{}",
            bytes.start,
            bytes.end
        ));
    }
    Ok(first..end)
}
