//! `okla-eval generate MODEL.gguf --prompt TEXT [-n N] [--json]`: a raw greedy
//! completion of a text (no chat template), as llama-cli runs one: the prompt tokenized
//! with BOS as the model adds it and special tokens recognised, then up to N tokens,
//! each the argmax of the logits, stopping early at an end-of-generation token.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;

use okla_engine::loader::load_with_lora;
use okla_engine::session::{GenerateOptions, Session, DEFAULT_SNAPSHOT_BUDGET};
use okla_formats::error::InputError;
use okla_text::gguf_tokenizer::GgufTokenizer;

/// Arguments of `generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The GGUF model file.
    pub model: PathBuf,
    /// The text to continue.
    #[arg(long, short = 'p')]
    pub prompt: String,
    /// Most tokens to generate.
    #[arg(short = 'n', long = "n-predict", default_value_t = 64)]
    pub n_predict: usize,
    /// CPU threads.
    #[arg(long, short = 't', default_value_t = 2)]
    pub threads: usize,
    /// A GGUF LoRA adapter to apply at run time (llama.cpp's `--lora`).
    #[arg(long, value_name = "FILE.gguf")]
    pub lora: Option<PathBuf>,
    /// Print `{"prompt_ids":[...],"ids":[...],"text":"...","finish":"..."}` instead of the text.
    #[arg(long)]
    pub json: bool,
}

/// Run `generate`.
pub fn run(args: GenerateArgs) -> Result<u8> {
    let loaded = load_with_lora(&args.model, args.lora.as_deref(), args.threads)?;
    let tokenizer = GgufTokenizer::from_metadata(loaded.file.metadata())
        .map_err(|e| InputError::file(&args.model, format!("{e:#}")))?;
    let prompt_ids = tokenizer.tokenize(&args.prompt)?;
    if prompt_ids.is_empty() {
        return Err(InputError::usage("--prompt: the prompt has no tokens").into());
    }
    let options = GenerateOptions::greedy(args.n_predict, loaded.stop_tokens());
    let mut session = Session::new(loaded.model.clone(), DEFAULT_SNAPSHOT_BUDGET);
    let mut out = std::io::stdout().lock();
    let mut stream_error = None;
    let completion = session.generate(&prompt_ids, &options, |id| {
        if args.json || stream_error.is_some() {
            return;
        }
        let written = tokenizer.piece(id).and_then(|piece| {
            out.write_all(&piece)
                .and_then(|()| out.flush())
                .map_err(Into::into)
        });
        if let Err(e) = written {
            stream_error = Some(e);
        }
    })?;
    if let Some(e) = stream_error {
        return Err(e.context("writing to stdout"));
    }
    if args.json {
        let text: Vec<u8> = completion
            .tokens
            .iter()
            .map(|&id| tokenizer.piece(id))
            .collect::<Result<Vec<_>>>()?
            .concat();
        let report = json!({
            "prompt_ids": prompt_ids,
            "ids": completion.tokens,
            "text": String::from_utf8_lossy(&text),
            "finish": completion.finish.as_str(),
        });
        writeln!(out, "{report}")?;
    } else {
        writeln!(out)?;
    }
    out.flush().context("writing to stdout")?;
    Ok(super::EXIT_PASS)
}
