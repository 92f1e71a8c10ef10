//! What the HTTP backend needs to know: where the server is, how to talk to it, and
//! how hard to push it. The `gate` command fills [`HttpOptions`] from its flags
//! (the binary's `--endpoint` flags).

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use okla_formats::choice::Choice;
use okla_formats::error::InputError;

/// Settings of one HTTP backend run.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// The server.
    pub endpoint: Endpoint,
    /// The `model` field sent with each request; `None` sends the server's only model, if
    /// it lists exactly one, and otherwise leaves the field out.
    pub model: Option<String>,
    /// Bearer token for servers behind authentication.
    pub api_key: Option<ApiKey>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Per-request limit, from connecting to the last byte of the answer.
    pub timeout: Duration,
    /// Extra attempts after a connection error or a 429/5xx answer.
    pub retries: u32,
    /// Ask for a streamed answer (SSE), which measures time to first token.
    pub stream: bool,
    /// Send this `response_format` with every request (`--response-format-schema`); a
    /// run whose decoding asks for a grammar sends one whatever this says.
    pub response_format: Option<ResponseFormat>,
    /// The suite's response schema, sent as `response_format` when the decoding asks for
    /// the schema grammar (in the style `response_format` names, else `json_schema`).
    pub schema: Value,
}

impl HttpOptions {
    /// Options with the defaults of the command line for everything but the endpoint.
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            model: None,
            api_key: None,
            concurrency: DEFAULT_CONCURRENCY,
            timeout: Duration::from_secs_f64(DEFAULT_TIMEOUT_S),
            retries: DEFAULT_RETRIES,
            stream: false,
            response_format: None,
            schema: Value::Null,
        }
    }
}

/// Default number of requests in flight.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// Default per-request timeout in seconds (an 8B model on CPU writing 600 tokens).
pub const DEFAULT_TIMEOUT_S: f64 = 300.0;
/// Default number of retries after a transient failure.
pub const DEFAULT_RETRIES: u32 = 3;

/// How the suite's JSON schema is passed as `response_format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFormatStyle {
    /// OpenAI's `{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}`
    /// (vLLM, llama.cpp server, OpenAI).
    JsonSchema,
    /// `{"type": "json_object", "schema": ...}` (llama-cpp-python, llama.cpp server).
    JsonObject,
}

impl Choice for ResponseFormatStyle {
    const ALL: &'static [Self] = &[Self::JsonSchema, Self::JsonObject];

    fn name(self) -> &'static str {
        match self {
            Self::JsonSchema => "json-schema",
            Self::JsonObject => "json-object",
        }
    }
}

impl ResponseFormatStyle {
    /// The name recorded in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::JsonSchema => "json_schema",
            Self::JsonObject => "json_object",
        }
    }
}

/// A JSON schema passed to the server to constrain answers (`Value::Null`: any JSON
/// object, `{"type": "json_object"}`).
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseFormat {
    /// The request shape.
    pub style: ResponseFormatStyle,
    /// The schema itself (the suite's response schema).
    pub schema: Value,
}

/// A secret read from an environment variable; its value never appears in `Debug` output
/// or reports, only the variable's name.
#[derive(Clone)]
pub struct ApiKey {
    /// The environment variable it came from.
    pub env_var: String,
    value: String,
}

impl ApiKey {
    /// Read the key from `env_var`; an unset or empty variable is a usage error.
    pub fn from_env(env_var: &str) -> Result<Self, InputError> {
        match std::env::var(env_var) {
            Ok(value) if !value.trim().is_empty() => Ok(Self {
                env_var: env_var.to_string(),
                value: value.trim().to_string(),
            }),
            _ => Err(InputError::usage(format!(
                "--api-key-env {env_var}: the environment variable is not set or empty"
            ))),
        }
    }

    /// The `Authorization` header value.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.value)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey(${})", self.env_var)
    }
}

/// An OpenAI-compatible server's address, normalized to its API root (`…/v1`).
///
/// Accepted spellings: `http://host:port`, `http://host:port/v1`, or the full
/// `…/v1/chat/completions` URL; a trailing `/` is ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    api_root: String,
}

impl Endpoint {
    /// Check and normalize a user-given URL.
    pub fn parse(url: &str) -> Result<Self, InputError> {
        let bad = |why: &str| InputError::usage(format!("--endpoint {url:?}: {why}"));
        let trimmed = url.trim().trim_end_matches('/');
        let rest = trimmed
            .strip_prefix("http://")
            .or_else(|| trimmed.strip_prefix("https://"))
            .ok_or_else(|| bad("expected an http:// or https:// URL"))?;
        let host = rest.split('/').next().unwrap_or_default();
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(bad("the URL names no host"));
        }
        let base = trimmed.strip_suffix("/chat/completions").unwrap_or(trimmed);
        let api_root = if base.ends_with("/v1") || base.len() < trimmed.len() {
            base.to_string()
        } else {
            format!("{base}/v1")
        };
        Ok(Self { api_root })
    }

    /// The API root, e.g. `http://127.0.0.1:8080/v1`.
    pub fn api_root(&self) -> &str {
        &self.api_root
    }

    /// `POST` here for chat completions.
    pub fn chat_url(&self) -> String {
        format!("{}/chat/completions", self.api_root)
    }

    /// `GET` here for the served models.
    pub fn models_url(&self) -> String {
        format!("{}/models", self.api_root)
    }

    /// `GET` here for liveness (llama.cpp server, vLLM): the server root's `/health`.
    pub fn health_url(&self) -> String {
        let root = self.api_root.strip_suffix("/v1").unwrap_or(&self.api_root);
        format!("{root}/health")
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.api_root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_spellings_normalize_to_the_api_root() {
        for url in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:8080/v1",
            "http://127.0.0.1:8080/v1/chat/completions",
        ] {
            let e = Endpoint::parse(url).unwrap();
            assert_eq!(
                e.chat_url(),
                "http://127.0.0.1:8080/v1/chat/completions",
                "{url}"
            );
            assert_eq!(e.models_url(), "http://127.0.0.1:8080/v1/models");
            assert_eq!(e.health_url(), "http://127.0.0.1:8080/health");
        }
        let prefixed =
            Endpoint::parse("https://fleet.example/api/openai/chat/completions").unwrap();
        assert_eq!(
            prefixed.chat_url(),
            "https://fleet.example/api/openai/chat/completions"
        );
    }

    #[test]
    fn endpoint_rejects_non_http_urls() {
        for url in ["127.0.0.1:8080", "ftp://x", "http://", "http:///v1", ""] {
            let err = Endpoint::parse(url).unwrap_err();
            assert!(err.message.contains("--endpoint"), "{url}: {err}");
        }
    }

    #[test]
    fn api_key_debug_hides_the_secret() {
        let key = ApiKey {
            env_var: "OKLA_KEY".into(),
            value: "s3cret".into(),
        };
        assert!(!format!("{key:?}").contains("s3cret"));
        assert_eq!(key.bearer(), "Bearer s3cret");
    }
}
