//! Flags of the HTTP backend, for `gate` to flatten (`#[command(flatten)] http: HttpArgs`)
//! and turn into [`HttpOptions`] once the suite is loaded.

use std::time::Duration;

use clap::builder::TypedValueParser;
use clap::Args;
use serde_json::Value;

use okla_formats::error::InputError;
use okla_harness::backend::http::options::{
    DEFAULT_CONCURRENCY, DEFAULT_RETRIES, DEFAULT_TIMEOUT_S,
};
use okla_harness::backend::http::{
    ApiKey, Endpoint, HttpOptions, ResponseFormat, ResponseFormatStyle,
};

/// How to reach an OpenAI-compatible server (`--backend http`).
#[derive(Debug, Clone, Args)]
pub struct HttpArgs {
    /// Server URL: http://host:port, …/v1 or the full …/v1/chat/completions.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Environment variable holding an API key, sent as a bearer token.
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
    /// Requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY,
          value_parser = clap::value_parser!(u16).range(1..).map(usize::from))]
    pub concurrency: usize,
    /// Per-request time limit in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT_S)]
    pub timeout_s: f64,
    /// Retries after a connection error or a 429/5xx answer (exponential backoff with
    /// jitter, or the server's Retry-After).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_RETRIES)]
    pub retries: u32,
    /// Stream answers (SSE) to measure time to first token.
    #[arg(long)]
    pub stream: bool,
    /// Pass the suite's response schema as `response_format` (json-schema: OpenAI, vLLM,
    /// llama.cpp; json-object: llama-cpp-python). Recorded in the report.
    #[arg(long, value_name = "STYLE", value_parser = super::choice::choice::<ResponseFormatStyle>(), num_args = 0..=1,
          default_missing_value = "json-schema")]
    pub response_format_schema: Option<ResponseFormatStyle>,
}

impl HttpArgs {
    /// The backend options for a run whose suite schema is `schema`, asking the server for
    /// `model` (`gate --model`; default: the server's only listed model). Bad values are
    /// input errors.
    pub fn to_options(
        &self,
        schema: &Value,
        model: Option<&str>,
    ) -> Result<HttpOptions, InputError> {
        let url = self
            .endpoint
            .as_deref()
            .ok_or_else(|| InputError::usage("--backend http needs --endpoint URL"))?;
        if !(self.timeout_s.is_finite() && self.timeout_s > 0.0) {
            return Err(InputError::usage(format!(
                "--timeout-s {}: expected a positive number of seconds",
                self.timeout_s
            )));
        }
        Ok(HttpOptions {
            endpoint: Endpoint::parse(url)?,
            model: model.map(String::from),
            api_key: self
                .api_key_env
                .as_deref()
                .map(ApiKey::from_env)
                .transpose()?,
            concurrency: self.concurrency,
            timeout: Duration::from_secs_f64(self.timeout_s.min(1e9)),
            retries: self.retries,
            stream: self.stream,
            response_format: self.response_format_schema.map(|style| ResponseFormat {
                style,
                schema: schema.clone(),
            }),
            schema: schema.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use serde_json::json;

    #[derive(Debug, Parser)]
    struct Probe {
        #[command(flatten)]
        http: HttpArgs,
    }

    fn parse(args: &[&str]) -> Result<HttpArgs, clap::Error> {
        Probe::try_parse_from(std::iter::once("probe").chain(args.iter().copied())).map(|p| p.http)
    }

    #[test]
    fn defaults_and_flags_become_options() {
        let schema = json!({"type": "object"});
        let args = parse(&[
            "--endpoint",
            "http://127.0.0.1:9/v1",
            "--stream",
            "--response-format-schema",
        ])
        .unwrap();
        let o = args.to_options(&schema, Some("okla-q4")).unwrap();
        assert_eq!(o.model.as_deref(), Some("okla-q4"));
        assert_eq!(o.concurrency, 4);
        assert_eq!(o.retries, 3);
        assert_eq!(o.timeout, Duration::from_secs(300));
        assert!(o.stream);
        assert_eq!(
            o.response_format.unwrap().style,
            ResponseFormatStyle::JsonSchema
        );

        let args = parse(&[
            "--endpoint",
            "http://h:1",
            "--response-format-schema",
            "json-object",
        ])
        .unwrap();
        let o = args.to_options(&schema, None).unwrap();
        assert_eq!(
            o.response_format.unwrap().style,
            ResponseFormatStyle::JsonObject
        );
        assert!(!o.stream);
    }

    #[test]
    fn bad_values_are_rejected() {
        assert!(parse(&["--concurrency", "0"]).is_err());
        let schema = json!({});
        let missing = parse(&[]).unwrap().to_options(&schema, None).unwrap_err();
        assert!(missing.message.contains("--endpoint"));
        let zero = parse(&["--endpoint", "http://h:1", "--timeout-s", "0"]).unwrap();
        assert!(zero
            .to_options(&schema, None)
            .unwrap_err()
            .message
            .contains("--timeout-s"));
        let unset = parse(&[
            "--endpoint",
            "http://h:1",
            "--api-key-env",
            "OKLA_EVAL_TEST_UNSET_KEY",
        ])
        .unwrap();
        assert!(unset
            .to_options(&schema, None)
            .unwrap_err()
            .message
            .contains("OKLA_EVAL_TEST_UNSET_KEY"));
    }
}
