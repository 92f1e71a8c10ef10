//! The check before a run: is there an OpenAI-compatible server at the endpoint, and
//! which models does it serve? A server that cannot be reached or is not ready is a
//! [`BackendFailure`] (exit code 3: nothing could be evaluated); one that answers but is
//! no OpenAI server, or wants an API key, is an input error (exit code 2: fix the
//! flags). Either says what was found, before any case is sent.

use std::time::Duration;

use serde_json::Value;

use super::client::Client;
use super::options::Endpoint;
use super::response::clip;
use crate::backend::BackendFailure;
use okla_formats::error::InputError;

/// What the health check learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// Ids from `GET /v1/models` (empty when the server has no model list).
    pub models: Vec<String>,
}

/// Longest wait for a health or model-list answer.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// `GET /health` (llama.cpp server, vLLM), then `GET /v1/models`.
pub fn check(
    client: &Client,
    endpoint: &Endpoint,
    timeout: Duration,
) -> anyhow::Result<ServerInfo> {
    let limit = timeout.min(CHECK_TIMEOUT);
    let failure = |message: String| BackendFailure {
        backend: format!("http endpoint {endpoint}"),
        message,
    };
    let unreachable = |url: &str, why: String| {
        failure(format!(
            "cannot reach it (GET {url}: {why}); is the server running?"
        ))
    };
    let health_url = endpoint.health_url();
    let (health_status, health_body) = client
        .get(&health_url, limit)
        .map_err(|why| unreachable(&health_url, why))?;
    if health_status == 503 {
        return Err(failure(format!(
            "the server is not ready (GET {health_url} → 503: {}); wait for it to load the model",
            clip(health_body.trim())
        ))
        .into());
    }
    let healthy = (200..300).contains(&health_status);

    let models_url = endpoint.models_url();
    let (status, body) = client
        .get(&models_url, limit)
        .map_err(|why| unreachable(&models_url, why))?;
    match status {
        200..=299 => parse_model_list(&body)
            .map(|models| ServerInfo { models })
            .map_err(|why| {
                InputError::usage(format!(
                    "the endpoint {endpoint} answers garbage: GET {models_url} should list models, {why}"
                ))
                .into()
            }),
        401 | 403 => Err(InputError::usage(format!(
            "the endpoint {endpoint} refused the request (GET {models_url} → {status}); \
             pass the API key's variable with --api-key-env"
        ))
        .into()),
        _ if healthy => Ok(ServerInfo { models: Vec::new() }),
        500..=599 => Err(failure(format!(
            "the server fails (GET {health_url} → {health_status}, GET {models_url} → {status}: {})",
            clip(body.trim())
        ))
        .into()),
        _ => Err(InputError::usage(format!(
            "the endpoint {endpoint} does not look like an OpenAI-compatible server \
             (GET {health_url} → {health_status}, GET {models_url} → {status}: {})",
            clip(body.trim())
        ))
        .into()),
    }
}

/// The model ids of an OpenAI `{"object": "list", "data": [{"id": ...}]}` body.
fn parse_model_list(body: &str) -> Result<Vec<String>, String> {
    let value: Value =
        serde_json::from_str(body).map_err(|_| format!("got {:?}", clip(body.trim())))?;
    let data = value
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("got JSON without a `data` list: {}", clip(body.trim())))?;
    Ok(data
        .iter()
        .filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_string))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_list_parsing() {
        let body = r#"{"object":"list","data":[{"id":"okla-q4","object":"model"},{"id":"b"}]}"#;
        assert_eq!(parse_model_list(body).unwrap(), ["okla-q4", "b"]);
        assert!(parse_model_list("<html>").unwrap_err().contains("<html>"));
        assert!(parse_model_list(r#"{"models":[]}"#)
            .unwrap_err()
            .contains("data"));
    }
}
