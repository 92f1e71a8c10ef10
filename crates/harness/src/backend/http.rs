//! The HTTP backend: answers come from an OpenAI-compatible server (llama.cpp server,
//! vLLM, llama-cpp-python) through `POST /v1/chat/completions`, so a gate measures the
//! deployment users meet, latency included.
//!
//! Cases are sent by a few worker threads at once ([`HttpOptions::concurrency`]);
//! answers come back in prompt order whatever the order they finished in, and each is
//! handed to the run's [`OnAnswer`] (which journals it) as it arrives. Transient
//! failures (connection errors, 429, 5xx) are retried with backoff; a case that still
//! fails gets its `Generation::error` (an infrastructure failure, never scored as the
//! model's). When the server stops answering altogether, the cases not yet sent fail at
//! once with that reason instead of each waiting out its retries, and the run keeps
//! everything answered before.

mod client;
mod health;
pub mod options;
mod request;
mod response;
mod retry;
mod sse;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, OnceLock};

use anyhow::{Context, Result};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

pub use options::{ApiKey, Endpoint, HttpOptions, ResponseFormat, ResponseFormatStyle};

use self::client::Client;
use self::health::ServerInfo;
use self::request::{chat_body, RequestShape};
use super::{Backend, BackendInfo, Capabilities, Generation, OnAnswer, Prompt};
use crate::suite::{Decoding, Grammar};
use okla_formats::error::InputError;
use okla_formats::hash::hex;

/// A checked connection to an OpenAI-compatible server.
#[derive(Debug)]
pub struct HttpBackend {
    options: HttpOptions,
    client: Client,
    server: ServerInfo,
    model: Option<String>,
    /// The `response_format` the last run sent (recorded in reports).
    sent_format: Option<ResponseFormat>,
}

impl HttpBackend {
    /// Check that the server is there and speaks the OpenAI API (`GET /health`,
    /// `GET /v1/models`): an unreachable or unready server is a
    /// [`BackendFailure`](super::BackendFailure) (exit 3), an endpoint that is not an
    /// OpenAI server or wants an API key an input error (exit 2).
    pub fn connect(options: HttpOptions) -> Result<Self> {
        if options.concurrency == 0 {
            return Err(InputError::usage("--concurrency must be at least 1").into());
        }
        let client = Client::new(&options);
        let server = health::check(&client, &options.endpoint, options.timeout)?;
        let model = options
            .model
            .clone()
            .or_else(|| match server.models.as_slice() {
                [only] => Some(only.clone()),
                _ => None,
            });
        Ok(Self {
            options,
            client,
            server,
            model,
            sent_format: None,
        })
    }

    /// The `response_format` sent under `grammar`: none unless asked for
    /// (`--response-format-schema`), `{"type": "json_object"}` for any JSON, the suite's
    /// schema for the schema grammar.
    fn response_format_for(&self, grammar: Grammar) -> Option<ResponseFormat> {
        let asked = self.options.response_format.as_ref();
        match grammar {
            Grammar::None => asked.cloned(),
            Grammar::Json => Some(ResponseFormat {
                style: ResponseFormatStyle::JsonObject,
                schema: Value::Null,
            }),
            Grammar::Schema => Some(ResponseFormat {
                style: asked.map_or(ResponseFormatStyle::JsonSchema, |f| f.style),
                schema: self.options.schema.clone(),
            }),
        }
    }

    /// The model ids the server listed.
    pub fn served_models(&self) -> &[String] {
        &self.server.models
    }
}

impl Backend for HttpBackend {
    fn info(&self) -> BackendInfo {
        let o = &self.options;
        let mut details = Map::new();
        details.insert("endpoint".into(), json!(o.endpoint.api_root()));
        details.insert("served_models".into(), json!(self.server.models));
        details.insert("concurrency".into(), json!(o.concurrency));
        details.insert("timeout_s".into(), json!(o.timeout.as_secs_f64()));
        details.insert("retries".into(), json!(o.retries));
        details.insert("stream".into(), json!(o.stream));
        details.insert(
            "response_format".into(),
            response_format_record(self.sent_format.as_ref()),
        );
        if let Some(key) = &o.api_key {
            details.insert("api_key_env".into(), json!(key.env_var));
        }
        BackendInfo {
            kind: "http".into(),
            model: self.model.clone().unwrap_or_else(|| o.endpoint.to_string()),
            model_sha256: None,
            details,
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            batching: self.options.concurrency > 1,
            streaming_timings: self.options.stream,
            loss: false,
            latency: true,
        }
    }

    fn generate(
        &mut self,
        prompts: &[Prompt<'_>],
        decoding: &Decoding,
        on_answer: OnAnswer<'_>,
    ) -> Result<Vec<Generation>> {
        self.sent_format = self.response_format_for(decoding.grammar);
        let shape = RequestShape {
            model: self.model.as_deref(),
            decoding,
            stream: self.options.stream,
            response_format: self.sent_format.as_ref(),
        };
        let run = Run {
            client: &self.client,
            prompts,
            shape,
            next: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            outage: OnceLock::new(),
        };
        let mut results: Vec<Option<Generation>> = vec![None; prompts.len()];
        let workers = self.options.concurrency.min(prompts.len());
        std::thread::scope(|scope| -> Result<()> {
            let (tx, rx) = mpsc::channel();
            for _ in 0..workers {
                let tx = tx.clone();
                let run = &run;
                scope.spawn(move || run.work(&tx));
            }
            drop(tx);
            for (i, generation) in rx.iter() {
                if let Err(e) = on_answer(i, &generation) {
                    run.stop.store(true, Ordering::Relaxed);
                    return Err(e);
                }
                results[i] = Some(generation);
            }
            Ok(())
        })?;
        results
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .context("a worker stopped before answering every prompt")
    }
}

/// Shared state of one `generate` call: workers take the next prompt until none is left.
struct Run<'a> {
    client: &'a Client,
    prompts: &'a [Prompt<'a>],
    shape: RequestShape<'a>,
    next: AtomicUsize,
    stop: AtomicBool,
    /// Set once the server stopped answering: why (the remaining cases are not sent).
    outage: OnceLock<String>,
}

impl Run<'_> {
    fn work(&self, results: &mpsc::Sender<(usize, Generation)>) {
        let mut rng = fastrand::Rng::new();
        while !self.stop.load(Ordering::Relaxed) {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(prompt) = self.prompts.get(i) else {
                break;
            };
            let generation = match self.outage.get() {
                Some(why) => failed(format!("not sent: the endpoint stopped answering ({why})")),
                None => self.answer(prompt, &mut rng),
            };
            if results.send((i, generation)).is_err() {
                break;
            }
        }
    }

    fn answer(&self, prompt: &Prompt<'_>, rng: &mut fastrand::Rng) -> Generation {
        let body = chat_body(prompt.case_id, prompt.messages, &self.shape).to_string();
        match self.client.chat(body.as_bytes(), rng) {
            Ok((answer, timing)) => Generation {
                text: answer.text,
                prompt_tokens: answer.prompt_tokens,
                completion_tokens: answer.completion_tokens,
                finish_reason: answer.finish_reason,
                timing: Some(timing),
                error: None,
            },
            Err(failure) => {
                if failure.connection {
                    let _ = self.outage.set(failure.message.clone());
                }
                failed(failure.message)
            }
        }
    }
}

fn failed(message: String) -> Generation {
    Generation {
        error: Some(message),
        ..Generation::default()
    }
}

/// How the response format is recorded in `report.json`: the style and the schema's
/// sha256, so runs with different constraints are never compared unawares.
fn response_format_record(format: Option<&ResponseFormat>) -> Value {
    match format {
        None => Value::Null,
        Some(f) => json!({
            "style": f.style.as_str(),
            "schema_sha256": hex(&Sha256::digest(f.schema.to_string().as_bytes())),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_format_record_changes_with_the_schema() {
        let a = ResponseFormat {
            style: ResponseFormatStyle::JsonSchema,
            schema: json!({"type": "object"}),
        };
        let b = ResponseFormat {
            schema: json!({"type": "object", "required": ["intent"]}),
            ..a.clone()
        };
        let (ra, rb) = (
            response_format_record(Some(&a)),
            response_format_record(Some(&b)),
        );
        assert_eq!(ra["style"], "json_schema");
        assert_ne!(ra["schema_sha256"], rb["schema_sha256"]);
        assert_eq!(response_format_record(None), Value::Null);
    }
}
