//! Reading a chat-completions answer: one JSON object, or a stream of SSE chunks
//! (`choices[0].delta.content` pieces, then `[DONE]`). Anything else is reported as a
//! message saying what was wrong, never a panic.

use serde_json::Value;

use super::sse::SseEvent;

/// The answer text and the server's bookkeeping (timings are measured by the caller).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    /// The assistant message content.
    pub text: String,
    /// `usage.prompt_tokens`.
    pub prompt_tokens: Option<u32>,
    /// `usage.completion_tokens`.
    pub completion_tokens: Option<u32>,
    /// `choices[0].finish_reason`.
    pub finish_reason: Option<String>,
}

/// Parse a non-streamed answer body.
pub fn parse_completion(body: &str) -> Result<Answer, String> {
    let value = parse_json(body)?;
    let choice = first_choice(&value)?;
    let text = match choice.pointer("/message/content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => {
            return Err(format!(
                "`choices[0].message.content` is not a string: {other}"
            ))
        }
    };
    let mut answer = Answer {
        text,
        finish_reason: finish_reason(choice),
        ..Answer::default()
    };
    read_usage(&value, &mut answer);
    Ok(answer)
}

/// Accumulates a streamed answer chunk by chunk.
#[derive(Debug, Default)]
pub struct StreamAnswer {
    answer: Answer,
    done: bool,
}

/// What one stream event contributed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkKind {
    /// Generated text arrived (the first one marks time to first token).
    Text,
    /// Bookkeeping only (role, usage, finish reason).
    Meta,
    /// `[DONE]`: the stream is complete.
    Done,
}

impl StreamAnswer {
    /// A stream with nothing received yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Take in one SSE event.
    pub fn push(&mut self, event: &SseEvent) -> Result<ChunkKind, String> {
        let data = event.data.trim();
        if data == "[DONE]" {
            self.done = true;
            return Ok(ChunkKind::Done);
        }
        let value = parse_json(data)?;
        if event.event.as_deref() == Some("error") {
            return Err(
                server_error(&value).unwrap_or_else(|| format!("server error event: {data}"))
            );
        }
        read_usage(&value, &mut self.answer);
        let Some(choice) = value
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
        else {
            // The usage-only chunk of `stream_options.include_usage` has no choices.
            return match value.get("usage") {
                Some(_) => Ok(ChunkKind::Meta),
                None => Err(format!(
                    "stream chunk has neither choices nor usage: {}",
                    clip(data)
                )),
            };
        };
        if let Some(reason) = finish_reason(choice) {
            self.answer.finish_reason = Some(reason);
        }
        match choice.pointer("/delta/content") {
            Some(Value::String(s)) if !s.is_empty() => {
                self.answer.text.push_str(s);
                Ok(ChunkKind::Text)
            }
            Some(Value::String(_) | Value::Null) | None => Ok(ChunkKind::Meta),
            Some(other) => Err(format!(
                "`choices[0].delta.content` is not a string: {other}"
            )),
        }
    }

    /// The whole answer, once the stream closed. Every complete answer carries a finish
    /// reason; without one the answer was cut off: [`StreamCut::Dropped`] when the
    /// connection closed early, [`StreamCut::Interrupted`] when the server ended the
    /// stream properly but early (llama-cpp-python does so to serve a newer request).
    pub fn finish(self) -> Result<Answer, StreamCut> {
        if self.answer.finish_reason.is_some() {
            return Ok(self.answer);
        }
        let received = self.answer.text.chars().count();
        Err(if self.done {
            StreamCut::Interrupted(format!(
                "the server ended the stream without a finish reason after {received} characters \
                 (interrupted; llama-cpp-python needs --interrupt_requests False for concurrent streams)"
            ))
        } else {
            StreamCut::Dropped(format!(
                "the stream ended before the answer was complete ({received} characters received)"
            ))
        })
    }
}

/// Why a streamed answer is incomplete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamCut {
    /// The connection closed before `[DONE]`.
    Dropped(String),
    /// `[DONE]` came without a finish reason.
    Interrupted(String),
}

fn parse_json(text: &str) -> Result<Value, String> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| format!("answer is not JSON ({e}): {}", clip(text)))?;
    if let Some(message) = server_error(&value) {
        return Err(message);
    }
    Ok(value)
}

/// The message of an `{"error": ...}` body, if that is what the server sent.
pub fn server_error(value: &Value) -> Option<String> {
    let error = value.get("error")?;
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| error.to_string());
    Some(format!("server error: {message}"))
}

fn first_choice(value: &Value) -> Result<&Value, String> {
    value
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .ok_or_else(|| format!("answer has no `choices`: {}", clip(&value.to_string())))
}

fn finish_reason(choice: &Value) -> Option<String> {
    choice
        .get("finish_reason")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn read_usage(value: &Value, answer: &mut Answer) {
    let Some(usage) = value.get("usage").filter(|u| u.is_object()) else {
        return;
    };
    let count = |key: &str| {
        usage
            .get(key)
            .and_then(Value::as_u64)
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    };
    answer.prompt_tokens = count("prompt_tokens").or(answer.prompt_tokens);
    answer.completion_tokens = count("completion_tokens").or(answer.completion_tokens);
}

/// The start of a long text, for error messages.
pub fn clip(text: &str) -> String {
    const MAX: usize = 120;
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event(data: &str) -> SseEvent {
        SseEvent {
            event: None,
            data: data.into(),
        }
    }

    #[test]
    fn parses_a_completion_with_usage() {
        let body = r#"{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"{\"intent\":\"Greeting\"}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}"#;
        let a = parse_completion(body).unwrap();
        assert_eq!(a.text, r#"{"intent":"Greeting"}"#);
        assert_eq!((a.prompt_tokens, a.completion_tokens), (Some(12), Some(7)));
        assert_eq!(a.finish_reason.as_deref(), Some("stop"));
    }

    #[test]
    fn garbage_and_error_bodies_are_reported() {
        assert!(parse_completion("<html>502 Bad Gateway</html>")
            .unwrap_err()
            .contains("not JSON"));
        assert!(parse_completion("{}").unwrap_err().contains("choices"));
        let err = parse_completion(r#"{"error":{"message":"model not loaded"}}"#).unwrap_err();
        assert_eq!(err, "server error: model not loaded");
        let err = parse_completion(r#"{"choices":[{"message":{"content":5}}]}"#).unwrap_err();
        assert!(err.contains("not a string"));
    }

    #[test]
    fn stream_accumulates_text_and_usage() {
        let mut s = StreamAnswer::new();
        let kinds: Vec<ChunkKind> = [
            r#"{"choices":[{"delta":{"role":"assistant"},"finish_reason":null}]}"#,
            r#"{"choices":[{"delta":{"content":"ho"},"finish_reason":null}]}"#,
            r#"{"choices":[{"delta":{"content":"la"},"finish_reason":"length"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#,
            "[DONE]",
        ]
        .iter()
        .map(|d| s.push(&event(d)).unwrap())
        .collect();
        use ChunkKind::*;
        assert_eq!(kinds, [Meta, Text, Text, Meta, Done]);
        let a = s.finish().unwrap();
        assert_eq!(a.text, "hola");
        assert_eq!(a.finish_reason.as_deref(), Some("length"));
        assert_eq!((a.prompt_tokens, a.completion_tokens), (Some(3), Some(2)));
    }

    #[test]
    fn cut_off_stream_is_an_error() {
        let mut s = StreamAnswer::new();
        s.push(&event(r#"{"choices":[{"delta":{"content":"{\"resp"}}]}"#))
            .unwrap();
        assert!(matches!(s.finish(), Err(StreamCut::Dropped(m)) if m.contains("ended before")));
        let mut s = StreamAnswer::new();
        s.push(&event(r#"{"choices":[{"delta":{"content":"{"}}]}"#))
            .unwrap();
        s.push(&event("[DONE]")).unwrap();
        assert!(
            matches!(s.finish(), Err(StreamCut::Interrupted(m)) if m.contains("without a finish reason"))
        );
    }

    #[test]
    fn stream_error_events_are_reported() {
        let mut s = StreamAnswer::new();
        let err = s
            .push(&SseEvent {
                event: Some("error".into()),
                data: r#"{"message":"boom"}"#.into(),
            })
            .unwrap_err();
        assert!(err.contains("boom"));
        let err = StreamAnswer::new()
            .push(&event(r#"{"error":{"message":"overloaded"}}"#))
            .unwrap_err();
        assert_eq!(err, "server error: overloaded");
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in ".{0,200}") {
            let _ = parse_completion(&body);
            let _ = StreamAnswer::new().push(&event(&body));
        }

        #[test]
        fn clip_keeps_short_text_and_bounds_long_text(text in ".{0,300}") {
            let clipped = clip(&text);
            prop_assert!(clipped.chars().count() <= 121);
            if text.chars().count() <= 120 {
                prop_assert_eq!(clipped, text);
            }
        }
    }
}
