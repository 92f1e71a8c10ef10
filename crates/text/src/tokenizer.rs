//! [`ChatTokenizer`]: a tokenizer plus a chat template, turning conversations into token
//! ids the way Hugging Face `apply_chat_template(..., tokenize=True)` does (special
//! tokens recognised in the rendered text, no extra special tokens added by the
//! post-processor): a `tokenizer.json` with the Llama 3 template of its
//! `tokenizer_config.json`, or a GGUF's own tokenizer with the template its vocabulary
//! belongs to (byte-level BPE: Llama 3; SentencePiece: Gemma 3).

use std::ops::Range;
use std::path::Path;

use anyhow::{anyhow, ensure, Context, Result};
use tokenizers::Tokenizer;

use super::gemma_template::{
    Gemma3Template, END_OF_TURN, GEMMA3_CHAT_TEMPLATE, GEMMA_BOS, START_OF_TURN,
};
use super::template::{Llama3Template, RenderedChat, EOT, LLAMA3_CHAT_TEMPLATE};
use crate::chat::Message;
use crate::gguf_vocab::vocab_from_metadata;
use crate::spm::{SpmTokenizer, SpmVocab};
use okla_formats::error::InputError;
use okla_formats::gguf::Metadata;

/// The bundled Llama 3 `tokenizer.json` (see `models/llama3/README.md`).
const LLAMA3_TOKENIZER_JSON: &[u8] = include_bytes!("../../../models/llama3/tokenizer.json");
/// The bundled Llama 3 `tokenizer_config.json` (holds the chat template and BOS token).
const LLAMA3_TOKENIZER_CONFIG: &str = include_str!("../../../models/llama3/tokenizer_config.json");

/// The token-level half of a [`ChatTokenizer`].
#[derive(Clone)]
enum TextTokenizer {
    /// A `tokenizers` tokenizer (`tokenizer.json`, or byte-level BPE from a GGUF).
    Hf(Box<Tokenizer>),
    /// A GGUF SentencePiece vocabulary (Gemma 3).
    Spm(SpmTokenizer),
}

/// A tokenizer with its chat template.
#[derive(Clone)]
pub struct ChatTokenizer {
    tokenizer: TextTokenizer,
    template: ChatTemplate,
}

/// A tokenized conversation with the tokens training puts labels on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatEncoding {
    /// Token ids of the whole rendered conversation (generation prompt included when
    /// the template adds one).
    pub ids: Vec<u32>,
    /// For each assistant message, in order, the token index range covering its
    /// content and its closing end-of-turn token.
    pub assistant_spans: Vec<Range<usize>>,
}

impl ChatEncoding {
    /// One flag per token: true for assistant content and its end-of-turn token.
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
            .field("vocab_size", &self.vocab_size())
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
        Ok(Self::from_parts(tokenizer, template))
    }

    /// A tokenizer built elsewhere (e.g. from GGUF metadata) with the Llama 3 template.
    pub fn from_parts(tokenizer: Tokenizer, template: Llama3Template) -> Self {
        Self {
            tokenizer: TextTokenizer::Hf(Box::new(tokenizer)),
            template: ChatTemplate::Llama3(template),
        }
    }

    /// A GGUF SentencePiece tokenizer with the Gemma 3 chat template; refused when the
    /// vocabulary lacks the template's turn tokens.
    pub fn gemma3(tokenizer: SpmTokenizer) -> Result<Self> {
        for token in [START_OF_TURN, END_OF_TURN, GEMMA_BOS] {
            ensure!(
                tokenizer.vocab().id(token).is_some(),
                "the vocabulary has no {token} token, which the Gemma 3 chat template needs"
            );
        }
        Ok(Self {
            tokenizer: TextTokenizer::Spm(tokenizer),
            template: ChatTemplate::Gemma3(Gemma3Template),
        })
    }

    /// The chat tokenizer of a GGUF file's metadata, chosen by `tokenizer.ggml.model`:
    /// byte-level BPE (`gpt2`) with the Llama 3 template, SentencePiece (`llama`) with
    /// the Gemma 3 template.
    pub fn from_gguf(md: &Metadata) -> Result<Self> {
        match md.str("tokenizer.ggml.model")? {
            "llama" => Self::gemma3(SpmTokenizer::new(SpmVocab::from_metadata(md)?)),
            _ => vocab_from_metadata(md)?.chat_tokenizer(),
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
        Ok(Self::from_parts(tokenizer, template))
    }

    /// The underlying `tokenizers` tokenizer, when this is not a SentencePiece one.
    pub fn hf_tokenizer(&self) -> Option<&Tokenizer> {
        match &self.tokenizer {
            TextTokenizer::Hf(t) => Some(t),
            TextTokenizer::Spm(_) => None,
        }
    }

    /// The chat template.
    pub fn template(&self) -> &ChatTemplate {
        &self.template
    }

    /// Number of tokens the vocabulary names (special tokens included).
    pub fn vocab_size(&self) -> usize {
        match &self.tokenizer {
            TextTokenizer::Hf(t) => t.get_vocab_size(true),
            TextTokenizer::Spm(t) => t.vocab().len(),
        }
    }

    /// Tokenize text, recognising special tokens written in it, adding none.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        match &self.tokenizer {
            TextTokenizer::Hf(t) => {
                let encoding = t
                    .encode_fast(text, false)
                    .map_err(|e| anyhow!("tokenizing failed: {e}"))?;
                Ok(encoding.get_ids().to_vec())
            }
            TextTokenizer::Spm(t) => Ok(t.tokenize(text, false, true)),
        }
    }

    /// Decode ids back to text, special tokens written out.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        match &self.tokenizer {
            TextTokenizer::Hf(t) => t
                .decode(ids, false)
                .map_err(|e| anyhow!("decoding failed: {e}")),
            TextTokenizer::Spm(t) => {
                Ok(String::from_utf8_lossy(&t.detokenize(ids, false, true)?).into_owned())
            }
        }
    }

    /// The id of a token written exactly (e.g. `<|eot_id|>`), if the vocabulary has it.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        match &self.tokenizer {
            TextTokenizer::Hf(t) => t.token_to_id(token),
            TextTokenizer::Spm(t) => t.vocab().id(token),
        }
    }

    /// The tokens that end an answer: the template's end of turn, the end-of-text
    /// tokens the vocabulary has (`<|end_of_text|>`, `<eos>`), and `eos` (the file's
    /// EOS id, when it names one); sorted, without repeats.
    pub fn stop_tokens(&self, eos: Option<u32>) -> Vec<u32> {
        let mut stop: Vec<u32> = [self.template.end_of_turn(), "<|end_of_text|>", "<eos>"]
            .iter()
            .filter_map(|t| self.token_id(t))
            .chain(eos)
            .collect();
        stop.sort_unstable();
        stop.dedup();
        stop
    }

    /// Render a conversation with the chat template (see [`ChatTemplate::render`]).
    pub fn render(&self, messages: &[Message]) -> Result<RenderedChat> {
        self.template.render(messages)
    }

    /// Token ids of a rendered conversation, as `apply_chat_template(tokenize=True)`.
    pub fn encode_chat(&self, messages: &[Message]) -> Result<Vec<u32>> {
        self.encode(&self.render(messages)?.text)
    }

    /// The token length of a rendered conversation.
    pub fn count_chat_tokens(&self, messages: &[Message]) -> Result<usize> {
        Ok(self.encode_chat(messages)?.len())
    }

    /// Token ids plus, per assistant message, the token range of its content and
    /// end-of-turn token: the tokens a trainer computes loss on.
    pub fn encode_chat_with_assistant_mask(&self, messages: &[Message]) -> Result<ChatEncoding> {
        let rendered = self.render(messages)?;
        let (ids, offsets) = self.encode_with_offsets(&rendered.text)?;
        let assistant_spans = rendered
            .assistant_spans
            .iter()
            .map(|bytes| token_span(&offsets, bytes))
            .collect::<Result<Vec<_>>>()
            .context("locating assistant tokens")?;
        Ok(ChatEncoding {
            ids,
            assistant_spans,
        })
    }

    /// Token ids of `text` (special tokens recognised) with each token's byte range.
    fn encode_with_offsets(&self, text: &str) -> Result<(Vec<u32>, Vec<ByteRange>)> {
        match &self.tokenizer {
            TextTokenizer::Hf(t) => {
                let encoding = t
                    .encode(text, false)
                    .map_err(|e| anyhow!("tokenizing failed: {e}"))?;
                Ok((encoding.get_ids().to_vec(), encoding.get_offsets().to_vec()))
            }
            TextTokenizer::Spm(t) => {
                let ids = t.tokenize(text, false, true);
                let mut offsets = Vec::with_capacity(ids.len());
                let mut at = 0;
                for &id in &ids {
                    let len = t.token_to_piece(id, true)?.len();
                    offsets.push((at, at + len));
                    at += len;
                }
                ensure!(
                    at == text.len(),
                    "the tokens' pieces cover {at} bytes of a {}-byte text (an unknown token?)",
                    text.len()
                );
                Ok((ids, offsets))
            }
        }
    }
}

/// A token's `(start, end)` byte offsets in the text it came from.
type ByteRange = (usize, usize);

/// A chat template this crate implements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatTemplate {
    /// Meta Llama 3's ([`Llama3Template`]).
    Llama3(Llama3Template),
    /// Google Gemma 3's ([`Gemma3Template`]).
    Gemma3(Gemma3Template),
}

impl ChatTemplate {
    /// Renders messages exactly as `apply_chat_template` does with the template (the
    /// Llama 3 template always ends with the assistant header; the Gemma 3 one adds
    /// its generation prompt when the last message is not the assistant's).
    pub fn render(&self, messages: &[Message]) -> Result<RenderedChat> {
        match self {
            Self::Llama3(t) => Ok(t.render(messages)),
            Self::Gemma3(t) => t.render(messages),
        }
    }

    /// The template's short name (`llama3`, `gemma3`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Llama3(_) => "llama3",
            Self::Gemma3(_) => "gemma3",
        }
    }

    /// The special token that closes every turn (and ends an answer).
    pub fn end_of_turn(&self) -> &'static str {
        match self {
            Self::Llama3(_) => EOT,
            Self::Gemma3(_) => END_OF_TURN,
        }
    }

    /// The Jinja source of the template, as a GGUF's `tokenizer.chat_template` holds it.
    pub fn jinja(&self) -> &'static str {
        match self {
            Self::Llama3(_) => LLAMA3_CHAT_TEMPLATE,
            Self::Gemma3(_) => GEMMA3_CHAT_TEMPLATE,
        }
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
