//! An incremental parser for Server-Sent Events (the `text/event-stream` format that
//! OpenAI-compatible servers use when `stream: true`).
//!
//! Bytes arrive in arbitrary pieces; [`SseParser::feed`] returns every event completed
//! so far. Lines end in `\n`, `\r\n` or `\r`; `data:` lines of one event are joined with
//! `\n`; a blank line ends an event; lines starting with `:` are comments.

/// One dispatched event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, when the server named the event type.
    pub event: Option<String>,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
}

/// Incremental SSE parser: feed bytes, collect events.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the line being read (no terminator yet).
    line: Vec<u8>,
    /// The previous chunk ended in `\r`: a `\n` at the start of the next one belongs to it.
    after_cr: bool,
    /// Fields of the event being read.
    pending: SseEvent,
    /// At least one `data:` line was seen for the pending event.
    has_data: bool,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Consume the next bytes of the stream; returns the events they completed, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for &b in bytes {
            if std::mem::take(&mut self.after_cr) && b == b'\n' {
                continue;
            }
            match b {
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    if let Some(event) = self.end_line(&line) {
                        events.push(event);
                    }
                }
                _ => self.line.push(b),
            }
        }
        events
    }

    fn end_line(&mut self, line: &[u8]) -> Option<SseEvent> {
        if line.is_empty() {
            let event = std::mem::take(&mut self.pending);
            return std::mem::take(&mut self.has_data).then_some(event);
        }
        if line[0] == b':' {
            return None;
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_ref(), ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.pending.data.push('\n');
                }
                self.pending.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.pending.event = Some(value.to_string()),
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut parser = SseParser::new();
        chunks.iter().flat_map(|c| parser.feed(c)).collect()
    }

    fn data(s: &str) -> SseEvent {
        SseEvent {
            event: None,
            data: s.into(),
        }
    }

    #[test]
    fn parses_openai_style_stream() {
        let stream = b"data: {\"a\":1}\n\n: keep-alive\n\ndata: [DONE]\n\n";
        assert_eq!(
            parse_all(&[stream]),
            vec![data("{\"a\":1}"), data("[DONE]")]
        );
    }

    #[test]
    fn joins_multiline_data_and_keeps_event_names() {
        let stream = b"event: error\r\ndata: one\r\ndata:two\r\n\r\n";
        assert_eq!(
            parse_all(&[stream]),
            vec![SseEvent {
                event: Some("error".into()),
                data: "one\ntwo".into()
            }]
        );
    }

    #[test]
    fn crlf_split_across_chunks_is_one_line_end() {
        let events = parse_all(&[b"data: x\r", b"\n\r", b"\ndata: y\n\n"]);
        assert_eq!(events, vec![data("x"), data("y")]);
    }

    #[test]
    fn unterminated_event_is_not_dispatched() {
        assert!(parse_all(&[b"data: partial"]).is_empty());
        assert!(parse_all(&[b"data: partial\n"]).is_empty());
    }

    /// Events as a well-behaved server would write them.
    fn encode(events: &[(Option<String>, Vec<String>)], eol: &str) -> Vec<u8> {
        let mut out = String::new();
        for (name, lines) in events {
            if let Some(name) = name {
                out.push_str(&format!("event: {name}{eol}"));
            }
            for line in lines {
                out.push_str(&format!("data: {line}{eol}"));
            }
            out.push_str(eol);
        }
        out.into_bytes()
    }

    proptest! {
        #[test]
        fn any_split_gives_the_events_that_were_encoded(
            events in prop::collection::vec(
                (
                    prop::option::of("[a-z]{1,8}"),
                    prop::collection::vec("[^\r\n]{0,20}", 1..4),
                ),
                0..6,
            ),
            eol in prop::sample::select(vec!["\n", "\r\n", "\r"]),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let bytes = encode(&events, eol);
            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
            points.sort_unstable();
            let mut chunks = Vec::new();
            let mut start = 0;
            for p in points {
                chunks.push(&bytes[start..p]);
                start = p;
            }
            chunks.push(&bytes[start..]);
            let expected: Vec<SseEvent> = events
                .iter()
                .map(|(name, lines)| SseEvent { event: name.clone(), data: lines.join("\n") })
                .collect();
            prop_assert_eq!(parse_all(&chunks), expected);
        }

        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let mut parser = SseParser::new();
            let _ = parser.feed(&bytes);
        }
    }
}
