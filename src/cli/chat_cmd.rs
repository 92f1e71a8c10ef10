//! `okla-eval chat MODEL.gguf`: talk to a model in the terminal with the native engine.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::gate::GrammarArg;
use okla_harness::backend::gguf::GgufBackend;
use okla_harness::suite::{Decoding, Grammar, Message, Role, Suite};

/// Arguments of `chat`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The GGUF model.
    pub model: PathBuf,
    /// Worker threads.
    #[arg(long, default_value_t = super::default_threads())]
    pub threads: usize,
    /// System prompt (text, or @FILE to read it from a file).
    #[arg(long)]
    pub system: Option<String>,
    /// Greedy decoding instead of OKLA's production sampling (temperature 0.3, top_p 0.9,
    /// repetition penalty 1.15).
    #[arg(long)]
    pub greedy: bool,
    /// Most new tokens per answer.
    #[arg(long, default_value_t = 600)]
    pub max_new_tokens: u32,
    /// Sampling seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Constrain answers while they are generated: to the response schema of --suite, to
    /// any JSON object, or not at all.
    #[arg(long, value_enum, default_value = "none")]
    pub grammar: GrammarArg,
    /// The suite whose response schema `--grammar schema` holds answers to (its folder
    /// or suite.toml).
    #[arg(long, default_value = "suites/okla")]
    pub suite: PathBuf,
}

/// Run the chat loop on stdin/stdout. `/reset` forgets the conversation, `/exit` quits.
pub fn run(args: ChatArgs) -> Result<u8> {
    let mut backend = GgufBackend::open(&args.model, args.threads)?;
    let grammar = Grammar::from(args.grammar);
    if grammar == Grammar::Schema {
        let suite = Suite::load(&args.suite)?;
        let file = suite.dir.join(&suite.manifest.schema);
        backend = backend.with_response_schema(suite.schema, file);
    }
    let decoding = Decoding {
        max_new_tokens: args.max_new_tokens,
        seed: args.seed,
        grammar,
        ..if args.greedy {
            Decoding::default()
        } else {
            Decoding::production()
        }
    };
    let system = match args.system.as_deref() {
        Some(s) => Some(match s.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path).map_err(|e| {
                okla_formats::error::InputError::file(
                    path,
                    format!("cannot read system prompt: {e}"),
                )
            })?,
            None => s.to_string(),
        }),
        None => None,
    };
    let fresh = || -> Vec<Message> {
        system
            .iter()
            .map(|s| Message {
                role: Role::System,
                content: s.clone(),
            })
            .collect()
    };
    let mut messages = fresh();
    eprintln!(
        "chatting with {} ({} threads, grammar {}); /reset, /exit",
        args.model.display(),
        args.threads,
        grammar.as_str()
    );
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    loop {
        eprint!("> ");
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            break;
        }
        match line.trim() {
            "" => continue,
            "/exit" => break,
            "/reset" => {
                messages = fresh();
                continue;
            }
            text => messages.push(Message {
                role: Role::User,
                content: text.to_string(),
            }),
        }
        let answer = backend.stream_answer(&messages, &decoding, |piece| {
            let _ = stdout.write_all(piece.as_bytes());
            let _ = stdout.flush();
        })?;
        println!();
        if let Some(error) = &answer.error {
            eprintln!("[no answer: {error}]");
            messages.pop();
            continue;
        }
        if let Some(t) = answer.timing {
            let n = answer.completion_tokens.unwrap_or(0);
            eprintln!(
                "[{n} tokens, {:.1} tokens/s, first token after {:.2} s]",
                n as f64 / t.total.as_secs_f64().max(1e-9),
                t.first_token.unwrap_or_default().as_secs_f64()
            );
        }
        messages.push(Message {
            role: Role::Assistant,
            content: answer.text,
        });
    }
    Ok(0)
}
