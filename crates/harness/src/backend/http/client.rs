//! One chat-completions call with retries: send, read the answer (whole or streamed),
//! time it, and sort failures into transient (retried) and final ones.

use std::io::{ErrorKind, Read};
use std::time::{Duration, Instant};

use super::options::{ApiKey, Endpoint, HttpOptions};
use super::response::{
    clip, parse_completion, server_error, Answer, ChunkKind, StreamAnswer, StreamCut,
};
use super::retry::{is_retryable_status, parse_retry_after, RetryPolicy};
use super::sse::SseParser;
use crate::backend::Timing;

/// Why a case got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What went wrong, for the case's `error`.
    pub message: String,
    /// The server could not be reached or dropped the connection (after all retries):
    /// a sign that it is down rather than that this one request was bad.
    pub connection: bool,
}

/// A failed attempt.
enum AttemptError {
    /// Worth another try (connection trouble, 429, 5xx), after `retry_after` if the server said.
    Transient {
        message: String,
        connection: bool,
        retry_after: Option<Duration>,
    },
    /// Trying again would not help (timeout, 4xx, a garbled answer).
    Final(String),
}

/// Sends chat-completions requests to one endpoint.
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    endpoint: Endpoint,
    api_key: Option<ApiKey>,
    policy: RetryPolicy,
    timeout: Duration,
}

impl Client {
    /// A client with a connection pool big enough for the run's concurrency.
    pub fn new(options: &HttpOptions) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(options.timeout))
            .max_idle_connections_per_host(options.concurrency.max(1) + 1)
            .user_agent(concat!("okla-eval/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self {
            agent,
            endpoint: options.endpoint.clone(),
            api_key: options.api_key.clone(),
            policy: RetryPolicy::new(options.retries),
            timeout: options.timeout,
        }
    }

    /// `GET url` with its own, shorter time limit; returns the status and body text.
    pub fn get(&self, url: &str, limit: Duration) -> Result<(u16, String), String> {
        let mut request = self.agent.get(url);
        if let Some(key) = &self.api_key {
            request = request.header("Authorization", key.bearer());
        }
        let mut response = request
            .config()
            .timeout_global(Some(limit))
            .build()
            .call()
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_string()
            .map_err(|e| e.to_string())?;
        Ok((status, body))
    }

    /// POST one request body, retrying transient failures; timings are those of the
    /// attempt that succeeded.
    pub fn chat(&self, body: &[u8], rng: &mut fastrand::Rng) -> Result<(Answer, Timing), Failure> {
        let mut retry = 0;
        loop {
            match self.attempt(body) {
                Ok(done) => return Ok(done),
                Err(AttemptError::Final(message)) => {
                    return Err(Failure {
                        message,
                        connection: false,
                    })
                }
                Err(AttemptError::Transient {
                    message,
                    connection,
                    retry_after,
                }) => {
                    if retry >= self.policy.retries {
                        let attempts = retry + 1;
                        return Err(Failure {
                            message: format!("{message} (gave up after {attempts} attempts)"),
                            connection,
                        });
                    }
                    std::thread::sleep(self.policy.delay(retry, retry_after, rng));
                    retry += 1;
                }
            }
        }
    }

    fn attempt(&self, body: &[u8]) -> Result<(Answer, Timing), AttemptError> {
        let start = Instant::now();
        let mut request = self
            .agent
            .post(self.endpoint.chat_url())
            .content_type("application/json");
        if let Some(key) = &self.api_key {
            request = request.header("Authorization", key.bearer());
        }
        let response = request.send(body).map_err(|e| self.classify(e))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let retry_after = header("retry-after").and_then(|v| parse_retry_after(&v));
        let is_stream = header("content-type").is_some_and(|t| t.starts_with("text/event-stream"));
        let mut reader = response.into_body().into_reader();
        if !(200..300).contains(&status) {
            let mut text = String::new();
            let _ = reader.take(64 * 1024).read_to_string(&mut text);
            let detail = serde_json::from_str(&text)
                .ok()
                .and_then(|v| server_error(&v))
                .unwrap_or_else(|| clip(text.trim()));
            let message = format!("HTTP {status}: {detail}");
            return Err(if is_retryable_status(status) {
                AttemptError::Transient {
                    message,
                    connection: false,
                    retry_after,
                }
            } else {
                AttemptError::Final(message)
            });
        }
        if is_stream {
            self.read_stream(&mut reader, start)
        } else {
            let mut text = String::new();
            reader
                .read_to_string(&mut text)
                .map_err(|e| self.classify(e.into()))?;
            let answer = parse_completion(&text).map_err(AttemptError::Final)?;
            let timing = Timing {
                total: start.elapsed(),
                first_token: None,
            };
            Ok((answer, timing))
        }
    }

    fn read_stream(
        &self,
        reader: &mut impl Read,
        start: Instant,
    ) -> Result<(Answer, Timing), AttemptError> {
        let mut parser = SseParser::new();
        let mut stream = StreamAnswer::new();
        let mut first_token = None;
        let mut buf = [0u8; 8192];
        'read: loop {
            let n = reader.read(&mut buf).map_err(|e| self.classify(e.into()))?;
            if n == 0 {
                break;
            }
            for event in parser.feed(&buf[..n]) {
                match stream.push(&event).map_err(AttemptError::Final)? {
                    ChunkKind::Text if first_token.is_none() => first_token = Some(start.elapsed()),
                    ChunkKind::Done => break 'read,
                    _ => {}
                }
            }
        }
        let total = start.elapsed();
        let answer = stream.finish().map_err(|cut| match cut {
            StreamCut::Dropped(message) => AttemptError::Transient {
                message,
                connection: true,
                retry_after: None,
            },
            StreamCut::Interrupted(message) => AttemptError::Final(message),
        })?;
        Ok((answer, Timing { total, first_token }))
    }

    fn classify(&self, err: ureq::Error) -> AttemptError {
        let timed_out = || {
            AttemptError::Final(format!(
                "timed out after {:.1} s",
                self.timeout.as_secs_f64()
            ))
        };
        match err {
            ureq::Error::Timeout(_) => timed_out(),
            ureq::Error::Io(e)
                if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) =>
            {
                timed_out()
            }
            ureq::Error::Io(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::HostNotFound
            | ureq::Error::Protocol(_) => AttemptError::Transient {
                message: format!("connection to {} failed: {err}", self.endpoint),
                connection: true,
                retry_after: None,
            },
            other => AttemptError::Final(format!("request to {} failed: {other}", self.endpoint)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_api_key() {
        let var = "OKLA_EVAL_CLIENT_DEBUG_TEST_KEY";
        std::env::set_var(var, "s3cret-token");
        let mut options = HttpOptions::new(Endpoint::parse("http://127.0.0.1:9").unwrap());
        options.api_key = Some(ApiKey::from_env(var).unwrap());
        let shown = format!("{:?}", Client::new(&options));
        assert!(!shown.contains("s3cret-token"), "{shown}");
        assert!(shown.contains(var), "{shown}");
    }
}
