//! The HTTP backend against a real OpenAI-compatible server: llama-cpp-python's server
//! (installed by `scripts/setup/llama-server.sh`), started by the tests on free loopback
//! ports, serving our own tiny random-weight Llama 3 GGUF (`okla-eval gguf tiny`).
//! Skips, with the reason printed, when the venv has no llama_cpp.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use okla_engine::tiny::TinySpec;
use okla_formats::error::is_input_error;
use okla_formats::gguf::FileType;
use okla_harness::backend::http::{
    ApiKey, Endpoint, HttpBackend, HttpOptions, ResponseFormat, ResponseFormatStyle,
};
use okla_harness::backend::{is_backend_failure, Backend, Generation, Prompt};
use okla_harness::report::{answered_cases, Journal, JOURNAL_FILE};
use okla_harness::suite::{Decoding, Message, Role};
use serde_json::json;

/// The reference venv's python, or why the tests cannot run.
fn python() -> Result<PathBuf, String> {
    let cache = std::env::var_os("OKLA_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/okla-eval")
        });
    let python = cache.join("pyref/bin/python");
    let has_server = Command::new(&python)
        .args(["-c", "import llama_cpp.server.app"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if has_server {
        Ok(python)
    } else {
        Err(format!(
            "{} cannot import llama_cpp.server",
            python.display()
        ))
    }
}

/// Our tiny random-weight Llama 3 model (`okla-eval gguf tiny`), written once per build
/// folder; f16 and 64 wide so the server answers fast.
fn tiny_model() -> PathBuf {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let path =
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("http-backend/tiny-llama3-d64-s1.gguf");
            if !path.is_file() {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                let spec = TinySpec {
                    dim: 64,
                    ff: 128,
                    seed: 1,
                    ..TinySpec::default()
                };
                spec.write_gguf(&path, FileType::F16).unwrap();
            }
            path
        })
        .clone()
}

/// The python to run the server with and the model to serve, or why the tests cannot run.
fn assets() -> Result<(PathBuf, PathBuf), String> {
    Ok((python()?, tiny_model()))
}

/// The value of `$found`, or return from the test after printing why it is skipped.
macro_rules! require {
    ($found:expr) => {
        match $found {
            Ok(assets) => assets,
            Err(why) => {
                eprintln!("SKIPPED: {why} (run scripts/setup/llama-server.sh)");
                return;
            }
        }
    };
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `python -m llama_cpp.server ARGS` and exits when the test process that started
/// it is gone (the shared server outlives every test and is never dropped).
const EXIT_WITH_PARENT: &str = "
import os, runpy, sys, threading, time
parent = os.getppid()
def watch():
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
sys.argv[0] = 'llama_cpp.server'
runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)
";

/// One server for the tests that neither kill nor overload it.
fn shared_server(assets: &(PathBuf, PathBuf)) -> &'static Server {
    static SHARED: OnceLock<Server> = OnceLock::new();
    SHARED.get_or_init(|| Server::start(assets, &[]))
}

/// A server process of ours; killed when dropped.
struct Server {
    child: Mutex<Child>,
    url: String,
}

impl Server {
    fn start((python, model): &(PathBuf, PathBuf), extra_args: &[&str]) -> Server {
        let port = free_port();
        let child = Command::new(python)
            .args(["-c", EXIT_WITH_PARENT])
            .args([
                "--host",
                "127.0.0.1",
                "--n_ctx",
                "1024",
                "--n_threads",
                "2",
                // Like llama.cpp's server and vLLM, answer concurrent streams instead of
                // cutting the older one off.
                "--interrupt_requests",
                "False",
            ])
            .arg("--model")
            .arg(model)
            .args(["--port", &port.to_string()])
            .args(extra_args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting llama_cpp.server");
        let server = Server {
            child: Mutex::new(child),
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        // Up once it answers anything over HTTP (401 included).
        while matches!(
            ureq::get(format!("{}/v1/models", server.url)).call(),
            Err(e) if !matches!(e, ureq::Error::StatusCode(_))
        ) {
            assert!(
                Instant::now() < deadline,
                "the server did not come up within 120 s"
            );
            if let Ok(Some(status)) = server.child.lock().unwrap().try_wait() {
                panic!("the server exited during startup: {status}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        server
    }

    fn kill(&self) {
        let mut child = self.child.lock().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }

    fn options(&self) -> HttpOptions {
        let mut options = HttpOptions::new(Endpoint::parse(&self.url).unwrap());
        options.timeout = Duration::from_secs(60);
        options
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

const USER_TURNS: [&str; 8] = [
    "klk, tienen yipetas?",
    "cuánto cuesta la guagua?",
    "quiero algo pela'o",
    "hacen financiamiento?",
    "dónde están ubicados?",
    "puedo ir a probarla mañana?",
    "aceptan mi carro como parte de pago?",
    "gracias, tato",
];

/// (case id, messages) for the first `n` user turns.
fn conversations(n: usize) -> Vec<(String, Vec<Message>)> {
    USER_TURNS[..n]
        .iter()
        .enumerate()
        .map(|(i, turn)| {
            let messages = vec![
                Message::new(
                    Role::System,
                    "Eres el asistente de OKLA. VEHÍCULO EN CONTEXTO: Toyota RAV4 2021.",
                ),
                Message::new(Role::User, *turn),
            ];
            (format!("case-{i}"), messages)
        })
        .collect()
}

fn prompts(conversations: &[(String, Vec<Message>)]) -> Vec<Prompt<'_>> {
    conversations
        .iter()
        .map(|(id, messages)| Prompt {
            case_id: id,
            messages,
        })
        .collect()
}

fn greedy(max_new_tokens: u32) -> Decoding {
    Decoding {
        max_new_tokens,
        ..Decoding::default()
    }
}

fn generate(options: HttpOptions, n: usize, decoding: &Decoding) -> Vec<Generation> {
    let convs = conversations(n);
    let mut backend = HttpBackend::connect(options).unwrap();
    backend
        .generate(&prompts(&convs), decoding, &|_, _| Ok(()))
        .unwrap()
}

#[test]
fn answers_every_case_with_usage_and_latency() {
    let assets = require!(assets());
    let server = shared_server(&assets);
    let mut options = server.options();
    options.concurrency = 2;
    let convs = conversations(4);
    let mut backend = HttpBackend::connect(options).unwrap();
    let finished = AtomicUsize::new(0);
    let out = backend
        .generate(&prompts(&convs), &greedy(8), &|_, _| {
            finished.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
        .unwrap();
    assert_eq!(out.len(), 4);
    assert_eq!(finished.load(Ordering::Relaxed), 4);
    for g in &out {
        assert_eq!(g.error, None);
        assert!(!g.text.is_empty());
        assert_eq!(
            g.completion_tokens,
            Some(8),
            "greedy random weights never stop early: {g:?}"
        );
        assert!(g.prompt_tokens.unwrap() > 10);
        assert_eq!(g.finish_reason.as_deref(), Some("length"));
        assert!(g.timing.unwrap().total > Duration::ZERO);
        assert_eq!(g.timing.unwrap().first_token, None);
    }
    let info = backend.info();
    assert_eq!(info.kind, "http");
    assert!(
        info.model.ends_with("tiny-llama3-d64-s1.gguf"),
        "{}",
        info.model
    );
    assert_eq!(info.details["concurrency"], 2);
    assert_eq!(info.details["response_format"], serde_json::Value::Null);
    assert!(backend.capabilities().latency);
}

#[test]
fn streaming_measures_time_to_first_token_and_matches_plain_answers() {
    let assets = require!(assets());
    let server = shared_server(&assets);
    let plain = generate(server.options(), 2, &greedy(8));
    let mut options = server.options();
    options.stream = true;
    let streamed = generate(options, 2, &greedy(8));
    for (s, p) in streamed.iter().zip(&plain) {
        assert_eq!(s.error, None);
        assert_eq!(s.text, p.text, "streaming changed the greedy answer");
        let timing = s.timing.unwrap();
        let ttft = timing
            .first_token
            .expect("a streamed answer has a time to first token");
        assert!(ttft > Duration::ZERO && ttft < timing.total, "{timing:?}");
    }
}

#[test]
fn concurrency_gives_the_same_greedy_predictions_in_prompt_order() {
    let assets = require!(assets());
    let server = shared_server(&assets);
    let decoding = greedy(6);
    let serial = generate(server.options(), 6, &decoding);
    let mut options = server.options();
    options.concurrency = 4;
    let parallel = generate(options, 6, &decoding);
    let texts = |gs: &[Generation]| gs.iter().map(|g| g.text.clone()).collect::<Vec<_>>();
    assert!(serial.iter().all(|g| g.error.is_none()));
    assert_eq!(texts(&parallel), texts(&serial));
    let mut distinct = texts(&serial);
    distinct.dedup();
    assert!(
        distinct.len() > 1,
        "different prompts should give different answers, so order is checked"
    );
}

#[test]
fn a_timeout_fails_the_case_not_the_run() {
    let assets = require!(assets());
    let server = Server::start(&assets, &[]);
    let mut options = server.options();
    options.timeout = Duration::from_millis(400);
    options.concurrency = 1;
    let started = Instant::now();
    // 400 tokens take this server several seconds.
    let out = generate(options, 2, &greedy(400));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "timeouts were not enforced"
    );
    for g in &out {
        let error = g.error.as_deref().expect("the case should have timed out");
        assert!(error.contains("timed out after 0.4 s"), "{error}");
        assert!(g.text.is_empty() && g.timing.is_none());
    }
}

#[test]
fn a_server_killed_mid_run_keeps_the_answered_cases() {
    let assets = require!(assets());
    let server = Server::start(&assets, &[]);
    let run_dir = tempfile::tempdir().unwrap();
    let mut options = server.options();
    options.concurrency = 1;
    options.retries = 1;
    let journal = Journal::create(&run_dir.path().join(JOURNAL_FILE), []).unwrap();
    let convs = conversations(8);
    let all = prompts(&convs);
    let mut backend = HttpBackend::connect(options).unwrap();
    let done = AtomicUsize::new(0);
    let out = backend
        .generate(&all, &greedy(4), &|i, generation| {
            journal.record(all[i].case_id, generation)?;
            if done.fetch_add(1, Ordering::Relaxed) + 1 == 3 {
                server.kill();
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(out.len(), 8);
    assert!(out[..3]
        .iter()
        .all(|g| g.error.is_none() && !g.text.is_empty()));
    let failures: Vec<&str> = out[3..]
        .iter()
        .map(|g| g.error.as_deref().unwrap())
        .collect();
    assert!(failures[0].contains("connection"), "{}", failures[0]);
    assert!(failures[1..]
        .iter()
        .all(|e| e.starts_with("not sent: the endpoint stopped answering")));

    let text = std::fs::read_to_string(run_dir.path().join(JOURNAL_FILE)).unwrap();
    assert_eq!(text.lines().count(), 8);
    let answered = answered_cases(run_dir.path()).unwrap();
    let mut ids: Vec<&str> = answered.keys().map(String::as_str).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["case-0", "case-1", "case-2"]);
    assert_eq!(answered["case-1"].text, out[1].text);
}

#[test]
fn the_response_schema_reaches_the_server() {
    let assets = require!(assets());
    let server = shared_server(&assets);
    let schema = json!({
        "type": "object",
        "properties": {"intent": {"type": "string", "enum": ["Greeting", "Farewell"]}},
        "required": ["intent"]
    });
    let mut options = server.options();
    options.response_format = Some(ResponseFormat {
        style: ResponseFormatStyle::JsonObject,
        schema: schema.clone(),
    });
    let out = generate(options.clone(), 2, &greedy(40));
    for g in &out {
        let value: serde_json::Value =
            serde_json::from_str(&g.text).unwrap_or_else(|e| panic!("{e}: {:?}", g.text));
        assert!(
            ["Greeting", "Farewell"].contains(&value["intent"].as_str().unwrap()),
            "{value}"
        );
    }
    // llama-cpp-python knows only `json_object`: the OpenAI style is passed through
    // and the server's refusal (a 500, so retried once) is the case's error, not a crash.
    options.response_format = Some(ResponseFormat {
        style: ResponseFormatStyle::JsonSchema,
        schema,
    });
    options.retries = 1;
    let out = generate(options, 1, &greedy(4));
    let error = out[0].error.as_deref().unwrap();
    assert!(
        error.starts_with("HTTP 500")
            && error.contains("'json_object'")
            && error.ends_with("(gave up after 2 attempts)"),
        "{error}"
    );
}

#[test]
fn an_unreachable_endpoint_is_a_backend_failure() {
    let port = free_port();
    let options = HttpOptions::new(Endpoint::parse(&format!("http://127.0.0.1:{port}")).unwrap());
    let err = HttpBackend::connect(options).unwrap_err();
    assert!(is_backend_failure(&err), "not an exit-3 error: {err}");
    assert!(!is_input_error(&err), "{err}");
    let shown = err.to_string();
    assert!(
        shown.contains(&format!(
            "http endpoint http://127.0.0.1:{port}/v1: cannot reach it"
        )),
        "{shown}"
    );
}

#[test]
fn a_server_that_is_not_openai_compatible_is_an_input_error() {
    let python = require!(python());
    // A real web server that is not an OpenAI one: Python's static file server.
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir(site.path().join("v1")).unwrap();
    std::fs::write(site.path().join("v1/models"), "<html>hello</html>").unwrap();
    let port = free_port();
    let child = Command::new(&python)
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .current_dir(site.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let static_server = Server {
        child: Mutex::new(child),
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while ureq::get(&static_server.url).call().is_err() {
        assert!(Instant::now() < deadline, "http.server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let err = HttpBackend::connect(static_server.options()).unwrap_err();
    assert!(is_input_error(&err));
    assert!(err.to_string().contains("answers garbage"), "{err}");
    assert!(err.to_string().contains("<html>hello</html>"), "{err}");
    std::fs::remove_file(site.path().join("v1/models")).unwrap();
    let err = HttpBackend::connect(static_server.options()).unwrap_err();
    assert!(
        err.to_string()
            .contains("does not look like an OpenAI-compatible server"),
        "{err}"
    );
}

#[test]
fn an_api_key_from_the_environment_opens_a_protected_server() {
    let assets = require!(assets());
    let server = Server::start(&assets, &["--api_key", "okla-test-secret"]);
    let err = HttpBackend::connect(server.options()).unwrap_err();
    assert!(is_input_error(&err));
    assert!(err.to_string().contains("--api-key-env"), "{err}");

    let var = "OKLA_EVAL_HTTP_TEST_KEY";
    std::env::set_var(var, "okla-test-secret");
    let mut options = server.options();
    options.api_key = Some(ApiKey::from_env(var).unwrap());
    let out = generate(options, 1, &greedy(2));
    assert_eq!(out[0].error, None);
    assert_eq!(out[0].completion_tokens, Some(2));
}

#[test]
fn gate_scores_a_suite_through_the_http_backend() {
    let assets = require!(assets());
    let server = shared_server(&assets);
    let out = tempfile::tempdir().unwrap();
    let run = out.path().join("run");
    assert_cmd::Command::cargo_bin("okla-eval")
        .unwrap()
        .args([
            "gate",
            "--suite",
            "tests/fixtures/mini",
            "--endpoint",
            &server.url,
        ])
        .args(["--max-new-tokens", "8", "--concurrency", "2", "--run-dir"])
        .arg(&run)
        .assert()
        .code(1); // random weights never answer in JSON: the gate fails
    let report = okla_harness::report::read_report(&run).unwrap();
    assert_eq!(report.meta.backend.kind, "http");
    assert_eq!(report.meta.decoding.max_new_tokens, 8);
    assert_eq!(report.summary.cases, 6);
    assert!(report.summary.value("latency_mean_s").unwrap() > 0.0);
    assert!(report.summary.value("tokens_per_s").unwrap() > 0.0);
    assert!(
        !run.join(JOURNAL_FILE).exists(),
        "a committed, evaluated run keeps its answers in predictions.jsonl, not the journal"
    );
}
