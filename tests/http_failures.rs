//! Outages are not the model's failures: `okla-eval gate` against real local servers
//! (std `TcpListener`s on 127.0.0.1, started here) that pass the health check and then
//! answer 500, answer HTML, hang, or cut the connection. Each run exits 3 ("could not
//! evaluate") with a stderr line naming the endpoint and the error and no model advice;
//! the answers are classed `backend_error`, and what was answered stays in the journal,
//! from which `--resume` sends only the rest.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use okla_harness::report::{read_report, JOURNAL_FILE};

const MINI: &str = "tests/fixtures/mini";
/// The mini suite's cases.
const CASES: usize = 6;

/// How the fake server answers `POST /v1/chat/completions`.
#[derive(Debug, Clone, Copy)]
enum Chat {
    /// A valid completion whose content is a valid OKLA answer.
    Answer,
    /// `500 Internal Server Error` with an OpenAI error body.
    Status500,
    /// `200 OK` with an HTML page, as a proxy's error page.
    Html,
    /// Reads the request and never answers.
    Hang,
    /// Reads the request and closes the connection.
    Close,
    /// Answers the first `n` requests, then 500s.
    AnswerThen500(usize),
}

/// A server of ours on a free loopback port; `chat_requests` counts completions asked.
struct Fake {
    url: String,
    chat_requests: Arc<AtomicUsize>,
}

impl Fake {
    fn start(chat: Chat) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let chat_requests = Arc::new(AtomicUsize::new(0));
        let counter = chat_requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let counter = counter.clone();
                std::thread::spawn(move || serve(stream, chat, &counter));
            }
        });
        Fake { url, chat_requests }
    }

    fn chat_requests(&self) -> usize {
        self.chat_requests.load(Ordering::SeqCst)
    }
}

/// One connection: read one request, answer it by `chat` (health and model list always
/// answer well), close.
fn serve(stream: TcpStream, chat: Chat, chat_requests: &AtomicUsize) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let mut stream = stream;
    let request = head.lines().next().unwrap_or_default().to_string();
    let reply = |stream: &mut TcpStream, status: &str, kind: &str, body: &str| {
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    };
    if request.starts_with("GET /health") {
        return reply(
            &mut stream,
            "200 OK",
            "application/json",
            "{\"status\":\"ok\"}",
        );
    }
    if request.starts_with("GET /v1/models") {
        let list = "{\"object\":\"list\",\"data\":[{\"id\":\"fake-okla\",\"object\":\"model\"}]}";
        return reply(&mut stream, "200 OK", "application/json", list);
    }
    let n = chat_requests.fetch_add(1, Ordering::SeqCst) + 1;
    let answer = || {
        let content = "{\"response\": \"Hola, ¿en qué te ayudo?\", \"intent\": \"Greeting\", \"confidence\": 0.9, \"isFallback\": false}";
        serde_json::json!({
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 40, "completion_tokens": 20}
        })
        .to_string()
    };
    let error_500 = "{\"error\":{\"message\":\"CUDA out of memory\",\"type\":\"server_error\"}}";
    match chat {
        Chat::Answer => reply(&mut stream, "200 OK", "application/json", &answer()),
        Chat::AnswerThen500(k) if n <= k => {
            reply(&mut stream, "200 OK", "application/json", &answer())
        }
        Chat::Status500 | Chat::AnswerThen500(_) => reply(
            &mut stream,
            "500 Internal Server Error",
            "application/json",
            error_500,
        ),
        Chat::Html => reply(
            &mut stream,
            "200 OK",
            "text/html",
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        ),
        Chat::Hang => std::thread::sleep(Duration::from_secs(120)),
        Chat::Close => drop(stream),
    }
}

/// `okla-eval gate` on the mini suite against `url`, into `run`.
fn gate(url: &str, run: &Path) -> Command {
    let mut cmd = Command::cargo_bin("okla-eval").unwrap();
    cmd.env("NO_COLOR", "1")
        .args(["gate", "--suite", MINI, "--endpoint", url])
        .args(["--concurrency", "1", "--retries", "1", "--timeout-s", "1"])
        .arg("--run-dir")
        .arg(run);
    cmd
}

/// Run `chat` and check the run could not be evaluated, for the right reason: exit 3, a
/// stderr line naming the endpoint and `error`, no model advice, every unanswered case
/// classed `backend_error` and no verdict, the journal kept.
fn assert_not_evaluated(chat: Chat, error: &str) {
    let server = Fake::start(chat);
    let out = tempfile::tempdir().unwrap();
    let run = out.path().join("run");
    let assert = gate(&server.url, &run).assert().code(3);
    let output = assert.get_output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let endpoint = format!("{}/v1", server.url);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("error: could not evaluate:"))
        .unwrap_or_else(|| panic!("{chat:?}: no could-not-evaluate line in\n{stderr}"));
    assert!(line.contains(&endpoint), "{chat:?}: {line}");
    assert!(line.contains(error), "{chat:?}: {line}");
    assert!(stderr.contains("--resume"), "{stderr}");
    for advice in ["chat template", "GATE FAIL", "eot_id"] {
        assert!(
            !stdout.contains(advice) && !stderr.contains(advice),
            "{chat:?}: model advice {advice:?} for an outage:\n{stdout}\n{stderr}"
        );
    }
    assert!(stdout.contains("GATE COULD NOT EVALUATE"), "{stdout}");

    let report = read_report(&run).unwrap();
    assert_eq!(
        serde_json::to_value(report.gate.outcome).unwrap(),
        "could_not_evaluate"
    );
    assert!(report
        .gate
        .verdicts
        .iter()
        .all(|v| v.verdict.to_string() == "N/A"));
    let classes: Vec<&str> = report
        .summary
        .failure_classes
        .iter()
        .map(|c| c.class.as_str())
        .collect();
    assert_eq!(classes, ["backend_error"], "{chat:?}");
    assert_eq!(report.gate.evidence.unanswered, CASES as u64);
    let journal = std::fs::read_to_string(run.join(JOURNAL_FILE)).unwrap();
    assert_eq!(journal.lines().count(), CASES, "every case is journaled");

    // Replaying the outage's record does not turn it into a model failure either.
    Command::cargo_bin("okla-eval")
        .unwrap()
        .args(["gate", "--suite", MINI, "--predictions"])
        .arg(run.join("predictions.jsonl"))
        .arg("--run-dir")
        .arg(out.path().join("replayed"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "predictions.jsonl:1: field `error`: case \"cases:1:0\" has no answer to replay",
        ));
}

#[test]
fn a_server_answering_500_is_an_outage_not_a_failing_model() {
    assert_not_evaluated(
        Chat::Status500,
        "HTTP 500: server error: CUDA out of memory (gave up after 2 attempts)",
    );
}

#[test]
fn a_server_answering_html_is_an_outage_not_a_failing_model() {
    assert_not_evaluated(Chat::Html, "not JSON");
}

#[test]
fn a_server_that_hangs_is_an_outage_not_a_failing_model() {
    let started = Instant::now();
    assert_not_evaluated(Chat::Hang, "timed out after 1.0 s");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "timeouts were not enforced"
    );
}

#[test]
fn a_server_that_cuts_the_connection_is_an_outage_not_a_failing_model() {
    assert_not_evaluated(Chat::Close, "connection to");
}

#[test]
fn an_unreachable_endpoint_exits_3_naming_it() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    gate(&url, &out.path().join("run"))
        .assert()
        .code(3)
        .stderr(predicates::str::contains(format!(
            "error: could not evaluate: http endpoint {url}/v1: cannot reach it"
        )));
}

#[test]
fn an_outage_mid_run_resumes_into_its_own_folder_with_only_the_missing_cases() {
    let out = tempfile::tempdir().unwrap();
    let run = out.path().join("run");
    let failing = Fake::start(Chat::AnswerThen500(2));
    gate(&failing.url, &run).assert().code(3);
    let answered = okla_harness::report::answered_cases(&run).unwrap();
    assert_eq!(
        answered.len(),
        2,
        "the two answers before the outage are kept"
    );

    let healthy = Fake::start(Chat::Answer);
    gate(&healthy.url, &run)
        .arg("--resume")
        .arg(&run)
        .assert()
        .code(predicates::ord::ne(3));
    assert_eq!(
        healthy.chat_requests(),
        CASES - 2,
        "only the unanswered cases are sent"
    );
    let report = read_report(&run).unwrap();
    assert!(report.gate.evidence.is_complete());
    assert_eq!(report.meta.backend.details["resumed_cases"], 2);
    assert_eq!(
        report.meta.backend.details["resumed_from"],
        run.display().to_string()
    );
    assert!(
        !run.join(JOURNAL_FILE).exists(),
        "an evaluated run's answers are in predictions.jsonl"
    );
}

/// An answer that cannot be journaled (a full disk) stops the run: no further case is
/// sent, and the error is the run's.
#[test]
fn an_answer_that_cannot_be_recorded_stops_the_run() {
    use okla_harness::backend::http::{Endpoint, HttpBackend, HttpOptions};
    use okla_harness::backend::{Backend, Prompt};
    use okla_harness::suite::{Decoding, Message, Role};

    let server = Fake::start(Chat::Answer);
    let mut options = HttpOptions::new(Endpoint::parse(&server.url).unwrap());
    options.concurrency = 1;
    let mut backend = HttpBackend::connect(options).unwrap();
    let messages = [Message::new(Role::User, "klk")];
    let ids: Vec<String> = (0..CASES).map(|i| format!("case-{i}")).collect();
    let prompts: Vec<Prompt<'_>> = ids
        .iter()
        .map(|id| Prompt {
            case_id: id,
            messages: &messages,
        })
        .collect();
    let err = backend
        .generate(&prompts, &Decoding::default(), &|i, _| match i {
            0 => Ok(()),
            _ => anyhow::bail!("appending to the journal: No space left on device"),
        })
        .unwrap_err();
    assert!(err.to_string().contains("No space left on device"), "{err}");
    assert!(
        server.chat_requests() <= 3,
        "{} cases sent after the run had to stop",
        server.chat_requests()
    );
}
