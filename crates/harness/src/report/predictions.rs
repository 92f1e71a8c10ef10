//! `predictions.jsonl`: one line per case with the raw output, the parsed object,
//! the failure class and every per-case verdict. [`crate::prediction::PredictionLine`]
//! reads it back.

use anyhow::Result;

use crate::score::CaseResult;

/// Render the per-case results as JSON lines.
pub fn render_predictions(results: &[CaseResult]) -> Result<String> {
    let mut out = String::with_capacity(results.len() * 1024);
    for r in results {
        out.push_str(&serde_json::to_string(r)?);
        out.push('\n');
    }
    Ok(out)
}
