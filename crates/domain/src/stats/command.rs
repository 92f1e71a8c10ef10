//! Running `data stats`: load, tokenize in parallel (reporting progress), compute
//! the statistics, and optionally write per-conversation lengths.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{load_files, token_lengths, DataStats, DatasetFile};
use okla_formats::atomic::write_atomic_with;
use okla_formats::progress::Progress;
use okla_text::ChatTokenizer;

/// The `max_seq_len` of the real OKLA training run, always reported.
pub const REAL_RUN_MAX_SEQ_LEN: usize = 2048;

/// What `data stats` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct StatsOptions {
    /// JSONL conversation files.
    pub files: Vec<PathBuf>,
    /// Extra `max_seq_len` values to report truncation at.
    pub max_seq_lens: Vec<usize>,
    /// Tokenizer folder; `None` uses the bundled Llama 3 tokenizer.
    pub tokenizer: Option<PathBuf>,
    /// Where to write the per-conversation token lengths as CSV.
    pub lengths_out: Option<PathBuf>,
}

/// Run `data stats`: the statistics (for [`super::render_text`] or JSON), with the
/// lengths CSV written when asked.
pub fn run(options: &StatsOptions, progress: &dyn Progress) -> Result<DataStats> {
    let files = load_files(&options.files)?;
    let tokenizer = match &options.tokenizer {
        Some(dir) => ChatTokenizer::from_dir(dir)?,
        None => ChatTokenizer::llama3()?,
    };
    let lengths = token_lengths(&files, &tokenizer, progress)?;
    let mut limits = vec![REAL_RUN_MAX_SEQ_LEN];
    limits.extend(&options.max_seq_lens);
    let stats = DataStats::compute(&files, &lengths, &limits);
    if let Some(path) = &options.lengths_out {
        write_lengths_csv(path, &files, &lengths)?;
    }
    Ok(stats)
}

/// Write `file,line,tokens` for every conversation (atomically).
pub fn write_lengths_csv(path: &Path, files: &[DatasetFile], lengths: &[Vec<usize>]) -> Result<()> {
    write_atomic_with(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        csv.write_record(["file", "line", "tokens"])?;
        for (file, file_lengths) in files.iter().zip(lengths) {
            let name = file.path.display().to_string();
            for (conversation, tokens) in file.conversations.iter().zip(file_lengths) {
                csv.write_record([
                    name.clone(),
                    conversation.line.to_string(),
                    tokens.to_string(),
                ])?;
            }
        }
        csv.flush()
    })
}
