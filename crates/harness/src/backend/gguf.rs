//! The `gguf` backend: the native CPU engine ([`okla_engine`]) answering suite
//! prompts from a GGUF file (Llama or Gemma 3), with the chat template of its
//! tokenizer (Llama 3's or Gemma 3's) and the tokenizer stored
//! in the file. Prompts run in token order so shared prefixes (system prompts,
//! earlier turns) are computed once; outputs do not depend on that order.
//!
//! How prompts are scheduled depends only on the file, never on `--threads`, so a
//! rerun on another machine gives the same answers:
//! - a small model ([`SMALL_MODEL_BYTES`]) cannot keep many threads busy on one
//!   token, so each conversation (prompts sharing their first two messages) gets a
//!   fresh session and conversations run side by side, one per thread;
//! - a larger one runs every prompt in one session, [`DECODE_SLOTS`] at a time in
//!   token order, as llama.cpp's server decodes parallel slots: one pass over the
//!   weights serves every answer being decoded, each answer equals what it would be
//!   decoded alone (bit for bit, [`Session::generate_batch`]), and a prompt reuses the
//!   prefix it shares with the snapshots or any slot, so conversations of the same dealer
//!   also share their system prompt's keys.
//!
//! `decoding.grammar` constrains answers ([`okla_engine::grammar`]): `schema` to the
//! response schema given with [`GgufBackend::with_response_schema`], `json` to any JSON
//! object, `none` leaves generation exactly as it is without grammars. Each answer's
//! next mask is computed on a helper thread during the forward pass. A grammar's dead
//! end (no token allowed) is that answer's error.

mod grammar;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use anyhow::{Context, Result};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use self::grammar::{Grammars, ResponseSchema};
use super::{Backend, BackendInfo, Capabilities, Generation, LossReport, OnAnswer, Prompt, Timing};
use crate::suite::{Conversation, Decoding};
use okla_engine::grammar::Constrained;
use okla_engine::loader::{load_with_lora, LoadedModel};
use okla_engine::sampler::SamplingParams;
use okla_engine::session::{
    Completion, FinishReason, GenerateOptions, PrefixStats, Session, DEFAULT_SNAPSHOT_BUDGET,
};
use okla_formats::error::InputError;
use okla_formats::hash::hex;
use okla_formats::progress::Progress;
use okla_text::ChatTokenizer;

/// Files smaller than this run their conversations side by side (see the module docs).
pub const SMALL_MODEL_BYTES: usize = 1 << 30;

/// Answers a larger model decodes at once: one tile of the K-quant kernels
/// ([`okla_engine::kernels::TILE`] tokens meet each decoded weight block).
pub const DECODE_SLOTS: usize = okla_engine::kernels::TILE;

/// How prompts are scheduled (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Each conversation in a session of its own, conversations side by side, one per thread.
    Conversations,
    /// Every prompt in one session, this many answers decoded at once (at least 1).
    Slots(usize),
}

impl Schedule {
    /// The schedule of a model file of `bytes` bytes.
    pub fn for_model_bytes(bytes: usize) -> Self {
        if bytes < SMALL_MODEL_BYTES {
            Schedule::Conversations
        } else {
            Schedule::Slots(DECODE_SLOTS)
        }
    }

    /// How the report names it.
    fn describe(self) -> String {
        match self {
            Schedule::Conversations => "conversations side by side".into(),
            Schedule::Slots(n) => format!("{n} answers decoded at once"),
        }
    }
}

/// A GGUF model served by the native engine.
pub struct GgufBackend {
    path: PathBuf,
    sha256: String,
    loaded: LoadedModel,
    tokenizer: ChatTokenizer,
    stop_tokens: Vec<u32>,
    session: Session,
    schedule: Schedule,
    /// Prefix-reuse counters of the per-conversation sessions (small models).
    conversation_stats: PrefixStats,
    last_decoding: Option<Decoding>,
    grammars: Grammars,
}

impl std::fmt::Debug for GgufBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufBackend")
            .field("path", &self.path)
            .field("model", &self.loaded)
            .finish_non_exhaustive()
    }
}

impl GgufBackend {
    /// Opens `path` (hashing it for the report) and prepares `threads` worker threads.
    pub fn open(path: &Path, threads: usize) -> Result<Self> {
        Self::open_with_lora(path, None, threads)
    }

    /// [`GgufBackend::open`] with the GGUF LoRA `lora` applied at run time; the
    /// report's sha256 is then of the model's bytes followed by the adapter's.
    pub fn open_with_lora(path: &Path, lora: Option<&Path>, threads: usize) -> Result<Self> {
        let loaded = load_with_lora(path, lora, threads)?;
        let mut hasher = Sha256::new();
        hasher.update(loaded.file.bytes());
        if let Some(lora) = lora {
            let bytes = std::fs::read(lora)
                .map_err(|e| InputError::file(lora, format!("cannot read: {e}")))?;
            hasher.update(&bytes);
        }
        let sha256 = hex(&hasher.finalize());
        let tokenizer = loaded.tokenizer.clone();
        let stop_tokens = loaded.stop_tokens();
        let session = Session::new(loaded.model.clone(), DEFAULT_SNAPSHOT_BUDGET);
        let schedule = Schedule::for_model_bytes(loaded.file.bytes().len());
        Ok(Self {
            path: path.to_path_buf(),
            sha256,
            loaded,
            tokenizer,
            stop_tokens,
            session,
            schedule,
            conversation_stats: PrefixStats::default(),
            last_decoding: None,
            grammars: Grammars::default(),
        })
    }

    /// The response schema the `schema` grammar holds answers to, read from `file`
    /// (named when llguidance refuses the schema). It is compiled when a run first asks
    /// for that grammar, not here.
    pub fn with_response_schema(mut self, schema: Value, file: impl Into<PathBuf>) -> Self {
        self.grammars.schema = Some(ResponseSchema {
            schema,
            file: file.into(),
        });
        self
    }

    /// The backend with prompts scheduled as `schedule` says instead of by the file's
    /// size (`gate --slots`; answers may differ from the file's own schedule where
    /// prefix reuse batched a prompt differently, so the report records it).
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// The chat tokenizer (GGUF vocabulary + its chat template).
    pub fn tokenizer(&self) -> &ChatTokenizer {
        &self.tokenizer
    }

    /// The engine session (prefix cache and its counters).
    pub fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    /// Tokens that end an answer (the template's end of turn, end-of-text tokens, the file's EOS).
    pub fn stop_tokens(&self) -> &[u32] {
        &self.stop_tokens
    }

    /// Answers one conversation, calling `on_text` with each new piece of text as it
    /// is generated (for interactive chat). A dead end of the grammar is the answer's
    /// `error`.
    pub fn stream_answer(
        &mut self,
        messages: &[crate::suite::Message],
        decoding: &Decoding,
        mut on_text: impl FnMut(&str),
    ) -> Result<Generation> {
        let ids = self.tokenizer.encode_chat(messages)?;
        let constraint = self.constraint(decoding)?;
        let opts = self.options(decoding, 0, &constraint);
        let tokenizer = &self.tokenizer;
        let mut generated = Vec::new();
        let mut shown = 0;
        let done = self.session.generate(&ids, &opts, |t| {
            generated.push(t);
            // Print only complete UTF-8: a token may end inside a character.
            if let Ok(text) = tokenizer.decode(&generated) {
                if !text.ends_with('\u{fffd}') && text.len() > shown {
                    on_text(&text[shown..]);
                    shown = text.len();
                }
            }
        })?;
        let generation = generation(&self.tokenizer, ids.len(), &done)?;
        self.grammars.record(done.grammar);
        if generation.text.len() > shown {
            on_text(&generation.text[shown..]);
        }
        Ok(generation)
    }

    fn template_note(&self) -> String {
        let ours = self.tokenizer.template();
        let name = ours.name();
        match self.loaded.file.metadata().str("tokenizer.chat_template") {
            Ok(t) if t == ours.jinja() => format!("{name} (matches the file)"),
            Ok(_) => format!("{name} (the file's own template differs and is not used)"),
            Err(_) => format!("{name} (the file has none)"),
        }
    }

    /// The constraint `decoding.grammar` asks for (compiled on first use).
    fn constraint(&mut self, decoding: &Decoding) -> Result<Option<Constrained>> {
        self.grammars
            .constraint(decoding.grammar, &self.loaded, &self.stop_tokens)
    }

    /// The generation options for `decoding`, sampling from `stream`.
    fn options(
        &self,
        decoding: &Decoding,
        stream: u64,
        constraint: &Option<Constrained>,
    ) -> GenerateOptions {
        GenerateOptions {
            max_new_tokens: decoding.max_new_tokens as usize,
            stop_tokens: self.stop_tokens.clone(),
            sampling: SamplingParams::from(decoding),
            stream,
            constraint: constraint.clone(),
        }
    }
}

/// Answers one encoded prompt in `session`; a failure becomes the answer's error. The
/// grammar's trace goes to `grammars`.
fn answer(
    tokenizer: &ChatTokenizer,
    session: &mut Session,
    encoded: &Result<Vec<u32>>,
    opts: &GenerateOptions,
    grammars: &Grammars,
) -> Generation {
    let answered = encoded
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e:#}"))
        .and_then(|ids| {
            let done = session.generate(ids, opts, |_| {})?;
            let answer = generation(tokenizer, ids.len(), &done);
            grammars.record(done.grammar);
            answer
        });
    failed_unless(answered)
}

/// The answer, or a failure as the answer's error.
fn failed_unless(answered: Result<Generation>) -> Generation {
    answered.unwrap_or_else(|e| Generation {
        error: Some(format!("{e:#}")),
        ..Generation::default()
    })
}

/// The finished answer to a prompt of `prompt_len` tokens; a dead end of the grammar is
/// an error, the engine's failure and not the model's.
fn generation(
    tokenizer: &ChatTokenizer,
    prompt_len: usize,
    done: &Completion,
) -> Result<Generation> {
    if done.finish == FinishReason::Grammar {
        let why = done.grammar.as_ref().and_then(|t| t.dead_end.as_deref());
        return Ok(Generation {
            error: Some(format!(
                "the grammar allowed no token after {} generated tokens: {}",
                done.tokens.len(),
                why.unwrap_or("no reason given")
            )),
            ..Generation::default()
        });
    }
    Ok(Generation {
        text: tokenizer.decode(&done.tokens)?,
        prompt_tokens: Some(prompt_len as u32),
        completion_tokens: Some(done.tokens.len() as u32),
        finish_reason: Some(done.finish.as_str().into()),
        timing: Some(Timing {
            total: done.total,
            first_token: Some(done.first_token),
        }),
        error: None,
    })
}

/// Prompt indices grouped by conversation: runs of `order` (token order) whose
/// prompts share their first two messages (system prompt and first user turn).
fn conversations_in(order: &[usize], prompts: &[Prompt<'_>]) -> Vec<Vec<usize>> {
    let opening = |i: usize| &prompts[i].messages[..prompts[i].messages.len().min(2)];
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for &i in order {
        match groups.last_mut() {
            Some(group) if opening(group[0]) == opening(i) => group.push(i),
            _ => groups.push(vec![i]),
        }
    }
    groups
}

/// A stable 64-bit stream id for a case (sampled runs do not depend on prompt order).
fn stream_of(case_id: &str) -> u64 {
    let digest = Sha256::digest(case_id.as_bytes());
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
}

impl GgufBackend {
    /// Answers the prompts `queue` lists (index and options, in that order), `slots`
    /// at a time in the one session (the larger models' schedule; see the module docs).
    fn generate_in_slots(
        &mut self,
        slots: usize,
        encoded: &[Result<Vec<u32>>],
        queue: Vec<(usize, GenerateOptions)>,
        on_answer: OnAnswer<'_>,
    ) -> Result<Vec<Generation>> {
        let mut out = vec![Generation::default(); encoded.len()];
        let mut jobs = Vec::new();
        let mut job_prompts = Vec::new();
        for (i, opts) in queue {
            match &encoded[i] {
                Ok(ids) => {
                    jobs.push((&ids[..], opts));
                    job_prompts.push(i);
                }
                Err(e) => {
                    out[i] = failed_unless(Err(anyhow::anyhow!("{e:#}")));
                    on_answer(i, &out[i])?;
                }
            }
        }
        let (tokenizer, grammars) = (&self.tokenizer, &self.grammars);
        self.session.generate_batch(&jobs, slots, |job, done| {
            let i = job_prompts[job];
            out[i] = failed_unless(done.and_then(|done| {
                let answer = generation(tokenizer, jobs[job].0.len(), &done);
                grammars.record(done.grammar);
                answer
            }));
            on_answer(i, &out[i])
        })?;
        Ok(out)
    }
}

impl Backend for GgufBackend {
    fn info(&self) -> BackendInfo {
        let model = &self.loaded.model;
        let mut stats = self.session.stats();
        stats.add(self.conversation_stats);
        let mut details = serde_json::Map::new();
        if let Some(cpu) = okla_engine::bench::cpu_model_name() {
            details.insert("cpu".into(), json!(cpu));
        }
        details.insert("threads".into(), json!(model.threads()));
        details.insert("isa".into(), json!(format!("{:?}", model.isa())));
        details.insert("schedule".into(), json!(self.schedule.describe()));
        details.insert("chat_template".into(), json!(self.template_note()));
        if let Some(lora) = &self.loaded.lora {
            details.insert("lora".into(), json!(lora.display().to_string()));
        }
        details.insert("stop_tokens".into(), json!(self.stop_tokens));
        if let Some(d) = &self.last_decoding {
            details.insert(
                "decoding".into(),
                serde_json::to_value(d).unwrap_or(Value::Null),
            );
        }
        if let Some(grammar) = self.grammars.details() {
            details.insert("grammar".into(), grammar);
        }
        details.insert(
            "prefix_cache".into(),
            json!({
                "prompt_tokens": stats.prompt_tokens,
                "reused_tokens": stats.reused_tokens,
                "hit_rate": stats.hit_rate(),
            }),
        );
        BackendInfo {
            kind: "gguf".into(),
            model: self.path.display().to_string(),
            model_sha256: Some(self.sha256.clone()),
            details,
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            batching: true,
            streaming_timings: true,
            loss: true,
            latency: true,
        }
    }

    fn generate(
        &mut self,
        prompts: &[Prompt<'_>],
        decoding: &Decoding,
        on_answer: OnAnswer<'_>,
    ) -> Result<Vec<Generation>> {
        self.last_decoding = Some(*decoding);
        let constraint = self.constraint(decoding)?;
        let encoded: Vec<Result<Vec<u32>>> = prompts
            .iter()
            .map(|p| self.tokenizer.encode_chat(p.messages))
            .collect();
        // Token order puts prompts that share a prefix next to each other.
        let mut order: Vec<usize> = (0..prompts.len()).collect();
        order.sort_by(|&a, &b| match (&encoded[a], &encoded[b]) {
            (Ok(x), Ok(y)) => x.cmp(y).then(a.cmp(&b)),
            _ => a.cmp(&b),
        });
        if let Schedule::Slots(slots) = self.schedule {
            let queue = order
                .iter()
                .map(|&i| {
                    let stream = stream_of(prompts[i].case_id);
                    (i, self.options(decoding, stream, &constraint))
                })
                .collect();
            return self.generate_in_slots(slots, &encoded, queue, on_answer);
        }
        let conversations = conversations_in(&order, prompts);
        let threads = self.loaded.model.threads().min(conversations.len()).max(1);
        let next = AtomicUsize::new(0);
        let answers = Mutex::new(vec![Generation::default(); prompts.len()]);
        let stats = Mutex::new(PrefixStats::default());
        // The first answer `on_answer` refused: every thread stops at its next prompt.
        let refused: OnceLock<anyhow::Error> = OnceLock::new();
        let this = &*self;
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    while let Some(conversation) =
                        conversations.get(next.fetch_add(1, Ordering::Relaxed))
                    {
                        let mut session = Session::new(
                            this.loaded.model.clone(),
                            DEFAULT_SNAPSHOT_BUDGET / threads,
                        );
                        for &i in conversation {
                            if refused.get().is_some() {
                                return;
                            }
                            let opts =
                                this.options(decoding, stream_of(prompts[i].case_id), &constraint);
                            let answered = answer(
                                &this.tokenizer,
                                &mut session,
                                &encoded[i],
                                &opts,
                                &this.grammars,
                            );
                            if let Err(e) = on_answer(i, &answered) {
                                let _ = refused.set(e);
                                return;
                            }
                            answers.lock().expect("no thread panics holding it")[i] = answered;
                        }
                        stats
                            .lock()
                            .expect("no thread panics holding it")
                            .add(session.stats());
                    }
                });
            }
        });
        if let Some(e) = refused.into_inner() {
            return Err(e);
        }
        self.conversation_stats
            .add(stats.into_inner().expect("threads joined"));
        Ok(answers.into_inner().expect("threads joined"))
    }

    fn eval_loss(
        &mut self,
        conversations: &[Conversation],
        progress: &dyn Progress,
    ) -> Result<Option<LossReport>> {
        let (mut sum, mut tokens) = (0.0f64, 0u64);
        progress.start(conversations.len() as u64, "eval loss");
        for (i, conv) in conversations.iter().enumerate() {
            let enc = self
                .tokenizer
                .encode_chat_with_assistant_mask(&conv.messages)
                .with_context(|| format!("conversation {} (line {})", i + 1, conv.line))?;
            let (s, n) = self.session.nll(&enc.ids, &enc.assistant_mask())?;
            sum += s;
            tokens += n;
            progress.advance(1);
        }
        progress.finish();
        Ok(Some(LossReport {
            mean_nll: if tokens == 0 {
                0.0
            } else {
                sum / tokens as f64
            },
            tokens,
        }))
    }
}
