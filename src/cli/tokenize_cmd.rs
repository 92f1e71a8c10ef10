//! `okla-eval tokenize MODEL.gguf TEXT [--json]`: the token ids of a text with a GGUF
//! file's own tokenizer, as llama-tokenize prints them (BOS as the model adds it,
//! special tokens written in the text recognised).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;

use okla_formats::error::InputError;
use okla_formats::gguf::GgufFile;
use okla_text::gguf_tokenizer::GgufTokenizer;

/// Arguments of `tokenize`.
#[derive(Debug, Args)]
pub struct TokenizeArgs {
    /// The GGUF model file whose tokenizer to use.
    pub model: PathBuf,
    /// The text to tokenize.
    pub text: String,
    /// Print `{"ids":[...],"pieces":[...]}` instead of one `id -> 'piece'` line per token.
    #[arg(long)]
    pub json: bool,
}

/// Run `tokenize`.
pub fn run(args: TokenizeArgs) -> Result<u8> {
    let file = GgufFile::open(&args.model)?;
    let tokenizer = GgufTokenizer::from_metadata(file.metadata())
        .map_err(|e| InputError::file(&args.model, format!("{e:#}")))?;
    let ids = tokenizer.tokenize(&args.text)?;
    let pieces = ids
        .iter()
        .map(|&id| tokenizer.piece(id))
        .collect::<Result<Vec<_>>>()?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let pieces: Vec<String> = pieces
            .iter()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        writeln!(out, "{}", json!({"ids": ids, "pieces": pieces}))?;
    } else {
        for (id, piece) in ids.iter().zip(&pieces) {
            write!(out, "{id:6} -> '")?;
            out.write_all(piece)?;
            writeln!(out, "'")?;
        }
    }
    out.flush().context("writing to stdout")?;
    Ok(super::EXIT_PASS)
}
