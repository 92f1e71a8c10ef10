//! Running prompts through a model: prefill with prefix reuse, token-by-token
//! generation with stop tokens and a length cap, and teacher-forced loss.
//!
//! Prefix reuse: the live KV cache keeps the last sequence; a new prompt reuses the
//! longest common prefix with it, and when the two diverge the shared part is kept as
//! a snapshot (up to a byte budget, least recently used dropped first), so a system
//! prompt shared by interleaved conversations is computed once. As in llama.cpp, reuse
//! changes how the rest of the prompt is batched and so may change logits in the last
//! bits (see the engine's Parity notes); greedy outputs agree except at near ties.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Result};

use super::grammar::masking::{Ahead, Inline, Masking};
use super::grammar::{Constrained, MaskTrace};
use super::kv_cache::KvCache;
use super::model::Model;
use super::ops::log_sum_exp;
use super::sampler::{Sampler, SamplingParams};

/// Shared prefixes shorter than this are not worth a snapshot.
const MIN_SNAPSHOT_TOKENS: usize = 32;
/// Default memory for prefix snapshots.
pub const DEFAULT_SNAPSHOT_BUDGET: usize = 1 << 30;

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// A stop token (end of turn / end of text) came.
    Stop,
    /// `max_new_tokens` were generated.
    Length,
    /// The grammar reached a state no token continues ([`MaskTrace::dead_end`] says why).
    Grammar,
}

impl FinishReason {
    /// The OpenAI-style name (`stop`, `length`; `grammar` for a dead end of the grammar).
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::Grammar => "grammar",
        }
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Upper bound on new tokens.
    pub max_new_tokens: usize,
    /// Tokens that end generation (not included in the output).
    pub stop_tokens: Vec<u32>,
    /// Sampling settings.
    pub sampling: SamplingParams,
    /// Sampler stream (e.g. a hash of the case id) so sampled runs do not depend on order.
    pub stream: u64,
    /// The grammar the answer must follow, if any.
    pub constraint: Option<Constrained>,
}

impl GenerateOptions {
    /// Greedy decoding of at most `max_new_tokens`, ending at `stop_tokens`, no grammar.
    pub fn greedy(max_new_tokens: usize, stop_tokens: Vec<u32>) -> Self {
        Self {
            max_new_tokens,
            stop_tokens,
            sampling: SamplingParams::GREEDY,
            stream: 0,
            constraint: None,
        }
    }
}

/// One finished generation.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// Generated tokens (without the stop token).
    pub tokens: Vec<u32>,
    /// Why it stopped.
    pub finish: FinishReason,
    /// Prompt tokens served from cached prefixes.
    pub reused_tokens: usize,
    /// Time to the first generated token.
    pub first_token: Duration,
    /// Time to the end.
    pub total: Duration,
    /// What the grammar did, when one constrained the answer.
    pub grammar: Option<MaskTrace>,
}

/// Prefix-reuse counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrefixStats {
    /// Prompt tokens seen.
    pub prompt_tokens: u64,
    /// Prompt tokens whose keys and values came from a cache.
    pub reused_tokens: u64,
}

impl PrefixStats {
    /// Adds another session's counters to these.
    pub fn add(&mut self, other: PrefixStats) {
        self.prompt_tokens += other.prompt_tokens;
        self.reused_tokens += other.reused_tokens;
    }

    /// Fraction of prompt tokens served from cache.
    pub fn hit_rate(&self) -> f64 {
        if self.prompt_tokens == 0 {
            0.0
        } else {
            self.reused_tokens as f64 / self.prompt_tokens as f64
        }
    }
}

/// A model with its live KV cache and prefix snapshots.
#[derive(Debug)]
pub struct Session {
    model: Arc<Model>,
    cache: KvCache,
    snapshots: Vec<KvCache>,
    snapshot_budget: usize,
    stats: PrefixStats,
}

impl Session {
    /// A fresh session keeping at most `snapshot_budget` bytes of prefix snapshots.
    pub fn new(model: Arc<Model>, snapshot_budget: usize) -> Self {
        Self {
            cache: model.new_cache(),
            model,
            snapshots: Vec::new(),
            snapshot_budget,
            stats: PrefixStats::default(),
        }
    }

    /// The model this session runs.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Prefix-reuse counters so far.
    pub fn stats(&self) -> PrefixStats {
        self.stats
    }

    /// Puts the longest reusable prefix of `tokens` (at most `limit` tokens) in the
    /// live cache and returns its length. `others` (the caches of sequences decoding
    /// beside this one) may lend it too.
    fn reuse_prefix(&mut self, tokens: &[u32], limit: usize, others: &[&KvCache]) -> usize {
        let live = self.cache.common_prefix(tokens).min(limit);
        let best = self
            .snapshots
            .iter()
            .enumerate()
            .map(|(i, s)| (i, s.common_prefix(tokens).min(limit)))
            .max_by_key(|&(i, n)| (n, std::cmp::Reverse(i)));
        let lent = others
            .iter()
            .map(|c| (c, c.common_prefix(tokens).min(limit)))
            .max_by_key(|&(_, n)| n)
            .filter(|&(_, n)| n > live && best.is_none_or(|(_, b)| n > b));
        if live < self.cache.len()
            && live >= MIN_SNAPSHOT_TOKENS
            && best.is_none_or(|(_, n)| n < live)
        {
            self.remember(self.cache.prefix(live));
        }
        if let Some((other, n)) = lent {
            self.cache = other.prefix(n);
            return n;
        }
        match best {
            Some((i, n)) if n > live => {
                let snap = self.snapshots.remove(i);
                self.cache = snap.prefix(n);
                self.snapshots.push(snap);
                n
            }
            _ => {
                self.cache.truncate(live);
                live
            }
        }
    }

    fn remember(&mut self, snapshot: KvCache) {
        self.snapshots.retain(|s| s.tokens() != snapshot.tokens());
        self.snapshots.push(snapshot);
        while self.snapshots.iter().map(KvCache::bytes).sum::<usize>() > self.snapshot_budget {
            self.snapshots.remove(0);
        }
    }

    /// Runs the prompt (reusing cached prefixes) and returns the logits after its last
    /// token and the number of reused tokens.
    pub fn prefill(&mut self, prompt: &[u32]) -> Result<(Vec<f32>, usize)> {
        self.prefill_beside(prompt, &[])
    }

    /// [`Session::prefill`] with the caches `others` also lending prefixes.
    fn prefill_beside(&mut self, prompt: &[u32], others: &[&KvCache]) -> Result<(Vec<f32>, usize)> {
        ensure!(!prompt.is_empty(), "empty prompt");
        let reused = self.reuse_prefix(prompt, prompt.len() - 1, others);
        self.stats.prompt_tokens += prompt.len() as u64;
        self.stats.reused_tokens += reused as u64;
        let rest = &prompt[reused..];
        let logits = self
            .model
            .forward(&mut self.cache, rest, &[rest.len() - 1])?;
        Ok((logits, reused))
    }

    /// Generates a completion of `prompt`; `on_token` sees each new token as it comes.
    ///
    /// Under a grammar ([`GenerateOptions::constraint`]) every token is sampled from the
    /// tokens its mask allows: the mask applies to the logits first, then repetition
    /// penalty, temperature and top-p work on what is left (llama.cpp's order, its grammar
    /// sampler first). With [`Constrained::overlap`] a helper thread commits each token
    /// and computes the next mask while the forward pass of that token runs (the first
    /// mask while the prompt runs).
    pub fn generate(
        &mut self,
        prompt: &[u32],
        opts: &GenerateOptions,
        on_token: impl FnMut(u32),
    ) -> Result<Completion> {
        match &opts.constraint {
            None => self.decode(prompt, opts, None, on_token),
            Some(c) if c.overlap => std::thread::scope(|scope| {
                let masking = Masking::new(Ahead::spawn(scope, c.grammar.start()));
                self.decode(prompt, opts, Some(masking), on_token)
            }),
            Some(c) => {
                let masking = Masking::new(Inline::new(c.grammar.start()));
                self.decode(prompt, opts, Some(masking), on_token)
            }
        }
    }

    /// The decoding loop of [`Session::generate`], masked by `masking` when given.
    fn decode(
        &mut self,
        prompt: &[u32],
        opts: &GenerateOptions,
        masking: Option<Masking<'_>>,
        mut on_token: impl FnMut(u32),
    ) -> Result<Completion> {
        let start = Instant::now();
        let (mut logits, reused_tokens) = self.prefill(prompt)?;
        let mut answer = Answer::new(prompt, opts, masking, start, reused_tokens);
        while let Some(next) = answer.choose(&mut logits) {
            on_token(next);
            if answer.ended() {
                break;
            }
            logits = self.model.forward(&mut self.cache, &[next], &[0])?;
        }
        Ok(answer.finish())
    }

    /// Generates a completion of every prompt in `jobs` (prompt and options), up to
    /// `slots` at a time, as llama.cpp's server decodes its parallel slots: each
    /// sequence keeps its own KV cache and sampler, and one forward pass per step
    /// serves every sequence decoding (one read of the weights for the batch). Each
    /// token is chosen from logits equal bit for bit to [`Session::generate`]'s for
    /// the same prompt and cache, so answers differ from one-at-a-time decoding only
    /// where prefix reuse batched a prompt differently (see the module docs).
    ///
    /// Jobs start in order as slots free up, one per step while others decode; a
    /// prompt reuses prefixes from the snapshots and from every slot's cache. `on_done`
    /// gets each job's index and completion (or its error) as soon as it ends; its
    /// `Err` stops the run and is returned.
    pub fn generate_batch(
        &mut self,
        jobs: &[(&[u32], GenerateOptions)],
        slots: usize,
        mut on_done: impl FnMut(usize, Result<Completion>) -> Result<()>,
    ) -> Result<()> {
        std::thread::scope(|scope| {
            let mut caches: Vec<KvCache> =
                (0..slots.max(1)).map(|_| self.model.new_cache()).collect();
            let mut running: Vec<Option<Running<'_, '_>>> = caches.iter().map(|_| None).collect();
            let mut queue = jobs.iter().enumerate();
            loop {
                // While answers are decoding, one prompt joins per step (as a server's
                // slots take requests), so the first answers end without waiting for
                // every slot's prompt.
                let mut admitted = 0;
                for slot in 0..caches.len() {
                    while running[slot].is_none() {
                        if admitted > 0 && running.iter().any(Option::is_some) {
                            break;
                        }
                        let Some((job, (prompt, opts))) = queue.next() else {
                            break;
                        };
                        admitted += 1;
                        let masking = opts.constraint.as_ref().map(|c| match c.overlap {
                            true => Masking::new(Ahead::spawn(scope, c.grammar.start())),
                            false => Masking::new(Inline::new(c.grammar.start())),
                        });
                        let start = Instant::now();
                        // The slot's cache is the live one while its prompt runs.
                        std::mem::swap(&mut self.cache, &mut caches[slot]);
                        let others: Vec<&KvCache> = caches
                            .iter()
                            .enumerate()
                            .filter(|&(s, c)| s != slot && !c.is_empty())
                            .map(|(_, c)| c)
                            .collect();
                        let prefilled = self.prefill_beside(prompt, &others);
                        std::mem::swap(&mut self.cache, &mut caches[slot]);
                        match prefilled {
                            Err(e) => on_done(job, Err(e))?,
                            Ok((mut logits, reused)) => {
                                let answer = Answer::new(prompt, opts, masking, start, reused);
                                Step::after(job, answer, &mut logits)
                                    .settle(&mut running[slot], &mut on_done)?;
                            }
                        }
                    }
                }
                let busy: Vec<usize> = (0..caches.len())
                    .filter(|&s| running[s].is_some())
                    .collect();
                if busy.is_empty() {
                    return Ok(());
                }
                let tokens: Vec<u32> = busy
                    .iter()
                    .map(|&s| running[s].as_ref().expect("busy").next)
                    .collect();
                let mut stepping: Vec<&mut KvCache> = caches
                    .iter_mut()
                    .enumerate()
                    .filter(|(s, _)| running[*s].is_some())
                    .map(|(_, c)| c)
                    .collect();
                let stepped = self.model.forward_batch(&mut stepping, &tokens);
                let vocab = self.model.vocab();
                for (k, &slot) in busy.iter().enumerate() {
                    let run = running[slot].take().expect("busy");
                    let mut logits = match &stepped {
                        Ok(all) => all[k * vocab..(k + 1) * vocab].to_vec(),
                        Err(e) => {
                            on_done(run.job, Err(anyhow::anyhow!("{e:#}")))?;
                            continue;
                        }
                    };
                    Step::after(run.job, run.answer, &mut logits)
                        .settle(&mut running[slot], &mut on_done)?;
                }
            }
        })
    }

    /// Teacher-forced negative log-likelihood: the sum over positions `i` with
    /// `targets[i]` of `−ln p(tokens[i] | tokens[..i])`, and how many positions were
    /// scored (position 0 is never scored).
    pub fn nll(&mut self, tokens: &[u32], targets: &[bool]) -> Result<(f64, u64)> {
        ensure!(
            tokens.len() == targets.len(),
            "tokens and target mask differ in length"
        );
        let Some(first) = targets.iter().skip(1).position(|&t| t).map(|p| p + 1) else {
            return Ok((0.0, 0));
        };
        let reused = self.reuse_prefix(tokens, first - 1, &[]);
        self.stats.prompt_tokens += tokens.len() as u64;
        self.stats.reused_tokens += reused as u64;
        let vocab = self.model.vocab();
        let (mut sum, mut count) = (0.0f64, 0u64);
        const PIECE: usize = 64;
        let mut pos = reused;
        while pos < tokens.len() {
            let end = (pos + PIECE).min(tokens.len());
            // Logits at position p predict token p + 1.
            let wanted: Vec<usize> = (pos..end)
                .filter(|&p| p + 1 < tokens.len() && targets[p + 1])
                .map(|p| p - pos)
                .collect();
            let logits = self
                .model
                .forward(&mut self.cache, &tokens[pos..end], &wanted)?;
            for (w, row) in wanted.iter().zip(logits.chunks_exact(vocab)) {
                let target = tokens[pos + w + 1] as usize;
                sum += log_sum_exp(row) - row[target] as f64;
                count += 1;
            }
            pos = end;
        }
        Ok((sum, count))
    }
}

/// One answer being decoded: its sampler, grammar masks, history and tokens so far.
struct Answer<'o, 'm> {
    opts: &'o GenerateOptions,
    masking: Option<Masking<'m>>,
    sampler: Sampler,
    history: Vec<u32>,
    tokens: Vec<u32>,
    start: Instant,
    first_token: Option<Duration>,
    finish: FinishReason,
    reused_tokens: usize,
}

impl<'o, 'm> Answer<'o, 'm> {
    /// The answer to `prompt` started at `start`, `reused_tokens` of it from a cache.
    fn new(
        prompt: &[u32],
        opts: &'o GenerateOptions,
        masking: Option<Masking<'m>>,
        start: Instant,
        reused_tokens: usize,
    ) -> Self {
        Self {
            opts,
            masking,
            sampler: Sampler::new(opts.sampling, opts.stream),
            history: prompt.to_vec(),
            tokens: Vec::new(),
            start,
            first_token: None,
            finish: FinishReason::Length,
            reused_tokens,
        }
    }

    /// Chooses the next token from `logits` (masked by the grammar first) and returns
    /// it once added to the answer; `None` when the answer ends without one (a stop
    /// token, the grammar's dead end, no room left).
    fn choose(&mut self, logits: &mut [f32]) -> Option<u32> {
        if self.ended() {
            return None;
        }
        if let Some(m) = self.masking.as_mut() {
            if !m.restrict(logits) {
                self.finish = FinishReason::Grammar;
                return None;
            }
        }
        let next = self.sampler.sample(logits, &self.history);
        self.first_token.get_or_insert_with(|| self.start.elapsed());
        if self.opts.stop_tokens.contains(&next) {
            self.finish = FinishReason::Stop;
            return None;
        }
        self.tokens.push(next);
        self.history.push(next);
        if let (false, Some(m)) = (self.ended(), self.masking.as_mut()) {
            m.advance(next);
        }
        Some(next)
    }

    /// True once the answer is complete: `max_new_tokens` generated, or it stopped.
    fn ended(&self) -> bool {
        self.finish != FinishReason::Length || self.tokens.len() >= self.opts.max_new_tokens
    }

    /// The finished completion.
    fn finish(self) -> Completion {
        Completion {
            tokens: self.tokens,
            finish: self.finish,
            reused_tokens: self.reused_tokens,
            first_token: self.first_token.unwrap_or_else(|| self.start.elapsed()),
            total: self.start.elapsed(),
            grammar: self.masking.map(Masking::into_trace),
        }
    }
}

/// A slot's answer in progress and the token it waits to run.
struct Running<'o, 'm> {
    job: usize,
    answer: Answer<'o, 'm>,
    next: u32,
}

/// Where a slot's answer stands after choosing a token.
enum Step<'o, 'm> {
    /// It goes on: its token waits for the next forward pass.
    Decoding(Running<'o, 'm>),
    /// Job `.0` has ended with this completion.
    Done(usize, Completion),
}

impl<'o, 'm> Step<'o, 'm> {
    /// Job `job`'s `answer` after choosing its next token from `logits`.
    fn after(job: usize, mut answer: Answer<'o, 'm>, logits: &mut [f32]) -> Self {
        match answer.choose(logits) {
            Some(next) if !answer.ended() => Step::Decoding(Running { job, answer, next }),
            _ => Step::Done(job, answer.finish()),
        }
    }

    /// Puts a decoding answer in `slot`, or hands a finished one to `on_done`.
    fn settle(
        self,
        slot: &mut Option<Running<'o, 'm>>,
        on_done: &mut impl FnMut(usize, Result<Completion>) -> Result<()>,
    ) -> Result<()> {
        match self {
            Step::Decoding(run) => *slot = Some(run),
            Step::Done(job, done) => on_done(job, Ok(done))?,
        }
        Ok(())
    }
}
