//! Done-when of the text work: token counts of the real FASE 2 files under the Llama 3
//! template equal the Python `tokenizers` reference (per-file totals committed by
//! `scripts/reference/fase2_token_totals.py`, which also compared every conversation).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use okla_domain::stats::{load_files, token_lengths};
use okla_formats::progress::NoProgress;
use okla_text::ChatTokenizer;
use serde::Deserialize;

const FASE2: &str = "../shared/reference/okla_fase2";

#[derive(Debug, Deserialize, PartialEq)]
struct FileTotals {
    conversations: usize,
    tokens: u64,
    max: usize,
}

#[derive(Deserialize)]
struct Reference {
    files: BTreeMap<String, FileTotals>,
}

#[test]
fn fase2_token_totals_match_python_tokenizers() {
    if !Path::new(FASE2).is_dir() {
        println!("skipped: {FASE2} is absent (the real FASE 2 files are not in this checkout)");
        return;
    }
    let reference: Reference =
        serde_json::from_str(include_str!("data/text/fase2_token_totals.json")).unwrap();
    let paths: Vec<PathBuf> = reference
        .files
        .keys()
        .map(|name| Path::new(FASE2).join(name))
        .collect();
    let files = load_files(&paths).expect("the FASE 2 files load");
    let tokenizer = ChatTokenizer::llama3().unwrap();
    let lengths = token_lengths(&files, &tokenizer, &NoProgress).unwrap();
    for ((name, want), file_lengths) in reference.files.iter().zip(&lengths) {
        let got = FileTotals {
            conversations: file_lengths.len(),
            tokens: file_lengths.iter().map(|&n| n as u64).sum(),
            max: file_lengths.iter().copied().max().unwrap_or(0),
        };
        assert_eq!(&got, want, "{name}");
    }
}
