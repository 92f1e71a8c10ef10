//! The grammars of the `gguf` backend: the suite's response schema, compiled on first use
//! against the model's vocabulary (built once), and what masking cost the answers of
//! the last run (the `grammar` object of the backend's details).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{json, Value};

use crate::score::{mean, percentile};
use crate::suite::Grammar;
use okla_engine::grammar::{
    gguf_token_bytes, CompiledGrammar, Constrained, GrammarVocab, MaskTrace,
};
use okla_engine::loader::LoadedModel;
use okla_formats::error::InputError;

/// A response schema and the file it came from (named in errors).
#[derive(Debug, Clone)]
pub(super) struct ResponseSchema {
    /// The JSON Schema.
    pub(super) schema: Value,
    /// Where it was read from.
    pub(super) file: PathBuf,
}

/// The backend's grammars, compiled on first use, and the last run's masking costs.
#[derive(Debug, Default)]
pub(super) struct Grammars {
    pub(super) schema: Option<ResponseSchema>,
    vocab: Option<GrammarVocab>,
    json: Option<Arc<CompiledGrammar>>,
    schema_grammar: Option<Arc<CompiledGrammar>>,
    last: Option<Tally>,
}

impl Grammars {
    /// The constraint of `grammar` for `loaded`'s answers ending on `stop_tokens` (none
    /// for [`Grammar::None`]). A schema llguidance refuses is an input error naming its
    /// file. Starts the tally [`Grammars::details`] reports.
    ///
    /// Masks are computed ahead, during the forward passes: measured on okla-tiny, that
    /// cuts the decoder's wait for a mask from ~38 µs to under 1 µs a token, both when
    /// each conversation runs on a thread of its own and when one session runs them all
    /// (docs/engine.md, "Constrained decoding").
    pub(super) fn constraint(
        &mut self,
        grammar: Grammar,
        loaded: &LoadedModel,
        stop_tokens: &[u32],
    ) -> Result<Option<Constrained>> {
        self.last = None;
        let compiled = match grammar {
            Grammar::None => return Ok(None),
            Grammar::Json => self.json(loaded, stop_tokens)?,
            Grammar::Schema => self.schema(loaded, stop_tokens)?,
        };
        self.last = Some(Tally {
            mode: grammar,
            compiled_in: compiled.compiled_in(),
            warnings: compiled.warnings().to_vec(),
            traces: Mutex::default(),
        });
        Ok(Some(Constrained {
            grammar: compiled,
            overlap: true,
        }))
    }

    /// Keeps the trace of one constrained answer for the details.
    pub(super) fn record(&self, trace: Option<MaskTrace>) {
        if let (Some(tally), Some(trace)) = (&self.last, trace) {
            tally
                .traces
                .lock()
                .expect("no thread panics holding it")
                .push(trace);
        }
    }

    /// The `grammar` details of the last run, when a grammar constrained it: mode, tokens
    /// masked, mean and p99 of each mask's compute time and of the decoder's wait for it
    /// (µs), compile and vocabulary build times (ms), dead ends, llguidance's warnings.
    pub(super) fn details(&self) -> Option<Value> {
        let tally = self.last.as_ref()?;
        let traces = tally.traces.lock().expect("no thread panics holding it");
        let micros = |pick: fn(&MaskTrace) -> &Vec<Duration>| {
            let mut all: Vec<f64> = traces
                .iter()
                .flat_map(|t| pick(t).iter().map(|d| d.as_secs_f64() * 1e6))
                .collect();
            all.sort_by(f64::total_cmp);
            (mean(&all), percentile(&all, 99.0))
        };
        let (compute_mean, compute_p99) = micros(|t| &t.compute);
        let (wait_mean, wait_p99) = micros(|t| &t.wait);
        let mut details = json!({
            "mode": tally.mode.as_str(),
            "tokens_masked": traces.iter().map(|t| t.compute.len()).sum::<usize>(),
            "mask_compute_mean_us": compute_mean,
            "mask_compute_p99_us": compute_p99,
            "mask_wait_mean_us": wait_mean,
            "mask_wait_p99_us": wait_p99,
            "compile_ms": tally.compiled_in.as_secs_f64() * 1e3,
            "token_env_ms": self.vocab.as_ref().map(|v| v.built_in().as_secs_f64() * 1e3),
            "dead_ends": traces.iter().filter(|t| t.dead_end.is_some()).count(),
        });
        if let (Some(schema), Grammar::Schema) = (&self.schema, tally.mode) {
            details["schema_file"] = json!(schema.file.display().to_string());
        }
        if !tally.warnings.is_empty() {
            details["warnings"] = json!(tally.warnings);
        }
        Some(details)
    }

    fn vocab(&mut self, loaded: &LoadedModel, stop_tokens: &[u32]) -> Result<&GrammarVocab> {
        if self.vocab.is_none() {
            let vocab = gguf_token_bytes(loaded.file.metadata())
                .and_then(|words| GrammarVocab::new(words, stop_tokens, loaded.model.vocab()))
                .map_err(|e| {
                    InputError::file(loaded.file.path(), format!("grammars need: {e:#}"))
                })?;
            self.vocab = Some(vocab);
        }
        Ok(self.vocab.as_ref().expect("built above"))
    }

    fn json(&mut self, loaded: &LoadedModel, stop_tokens: &[u32]) -> Result<Arc<CompiledGrammar>> {
        if let Some(compiled) = &self.json {
            return Ok(compiled.clone());
        }
        let compiled = Arc::new(
            self.vocab(loaded, stop_tokens)?
                .compile_any_object()
                .context("compiling the any-JSON-object grammar")?,
        );
        self.json = Some(compiled.clone());
        Ok(compiled)
    }

    fn schema(
        &mut self,
        loaded: &LoadedModel,
        stop_tokens: &[u32],
    ) -> Result<Arc<CompiledGrammar>> {
        if let Some(compiled) = &self.schema_grammar {
            return Ok(compiled.clone());
        }
        let Some(source) = self.schema.clone() else {
            return Err(InputError::usage(
                "the schema grammar needs the suite's response schema, and none was given",
            )
            .into());
        };
        let compiled = self
            .vocab(loaded, stop_tokens)?
            .compile_schema(&source.schema)
            .map_err(|e| {
                InputError::file(
                    &source.file,
                    format!("llguidance cannot compile this JSON Schema into a grammar: {e:#}"),
                )
            })?;
        let compiled = Arc::new(compiled);
        self.schema_grammar = Some(compiled.clone());
        Ok(compiled)
    }
}

/// What masking cost the answers of one run.
#[derive(Debug)]
struct Tally {
    mode: Grammar,
    compiled_in: Duration,
    warnings: Vec<String>,
    traces: Mutex<Vec<MaskTrace>>,
}
