//! The training loop: length-grouped micro-batches, gradient accumulation with
//! token-weighted loss, clipping, AdamW, the warmup + cosine schedule, periodic
//! evaluation, metrics and curves, atomic checkpoints, exact resume and the
//! final adapter (or full model) in the run folder.
//!
//! Loss of an optimizer step: the sum of the token cross-entropies of all its
//! micro-batches divided by the number of label tokens in the step (so every
//! assistant token weighs the same, however the batches are cut).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use super::adapter::{
    read_tensors, save_adapter, save_full_model, write_tensors, ADAPTER_WEIGHTS, MODEL_WEIGHTS,
};
use super::checkpoint::{
    checkpoint_name, latest_checkpoint, prune, read_state, remove_stale_temporaries,
    write_dir_atomic, TrainerState, OPTIMIZER_FILE, STATE_FILE,
};
use super::data::{collate, epoch_batches, percentile, truncate, Example};
use super::loss_scale::{needs_scaling, LossScaler};
use super::metrics::{MetricRecord, MetricsLog};
use super::model::{CausalLm, Method, IGNORE_INDEX};
use super::optim::{clip_grad_norm, zero_grads, AdamW, AdamWSettings, Param};
use super::recipe::{LossVocabulary, Recipe};
use super::schedule::CosineSchedule;
use okla_formats::atomic::write_atomic;
use okla_formats::error::InputError;
use okla_formats::progress::Progress;
use okla_formats::rng::SplitMix64;

/// Optimizer steps between rewrites of `metrics.jsonl` and `curves.svg` (they
/// are also written at every evaluation, checkpoint and at the end).
const METRICS_FLUSH_EVERY: u64 = 10;

/// What the data preparation decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataSummary {
    /// The sequence cap used.
    pub max_seq_len: usize,
    /// Training conversations cut to fit it.
    pub truncated: usize,
    /// Training conversations.
    pub examples: usize,
}

/// The checkpoint a run resumed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resumed {
    /// Its folder.
    pub dir: PathBuf,
    /// The optimizer step it was taken after.
    pub step: u64,
}

/// A training run in progress.
pub struct Trainer {
    recipe: Recipe,
    model: CausalLm,
    params: Vec<Param>,
    optimizer: AdamW,
    schedule: CosineSchedule,
    train: Vec<Example>,
    eval: Vec<Example>,
    lengths: Vec<usize>,
    steps_per_epoch: u64,
    pad_id: i64,
    metrics: MetricsLog,
    step: u64,
    data: DataSummary,
    started: Instant,
    scaler: Option<LossScaler>,
}

fn params_of(model: &CausalLm) -> Vec<Param> {
    model
        .trainable()
        .into_iter()
        .map(|(name, tensor)| Param {
            decay: tensor.dim() > 1,
            name,
            tensor,
        })
        .collect()
}

/// Label tokens that a micro-batch's loss covers (the first position never is a target).
fn target_count(e: &Example) -> i64 {
    e.labels
        .iter()
        .skip(1)
        .filter(|&&l| l != IGNORE_INDEX)
        .count() as i64
}

impl Trainer {
    /// Prepare a run: cap sequence lengths (the recipe's `max_seq_len` or the
    /// training set's P95; [`Trainer::data_summary`] says how many conversations
    /// were cut), build the
    /// optimizer and schedule, and write `recipe.json` into the run folder.
    pub fn new(
        recipe: Recipe,
        mut model: CausalLm,
        mut train: Vec<Example>,
        mut eval: Vec<Example>,
        pad_id: i64,
    ) -> Result<Self> {
        let lengths: Vec<usize> = train.iter().map(|e| e.ids.len()).collect();
        let max_seq_len = recipe
            .max_seq_len
            .unwrap_or_else(|| percentile(&lengths, 0.95))
            .max(2);
        let truncated = truncate(&mut train, max_seq_len);
        truncate(&mut eval, max_seq_len);
        train.retain(|e| target_count(e) > 0);
        eval.retain(|e| target_count(e) > 0);
        if train.is_empty() {
            return Err(InputError::usage(format!(
                "no training conversation has an assistant token within the first {max_seq_len} tokens (max_seq_len)"
            ))
            .into());
        }
        let data = DataSummary {
            max_seq_len,
            truncated,
            examples: lengths.len(),
        };
        if recipe.loss_vocabulary == LossVocabulary::Corpus {
            // every token the training split shows (labels are among its ids), each once
            let seen: HashSet<i64> = train.iter().flat_map(|e| e.ids.iter().copied()).collect();
            let tokens: Vec<i64> = seen.into_iter().collect();
            model.restrict_loss_vocabulary(&tokens, recipe.from_scratch)?;
        }
        let lengths: Vec<usize> = train.iter().map(|e| e.ids.len()).collect();
        let micro_per_epoch = lengths.len().div_ceil(recipe.micro_batch_size) as u64;
        let steps_per_epoch = micro_per_epoch.div_ceil(recipe.grad_accum as u64);
        let total = recipe.max_steps.unwrap_or(recipe.epochs * steps_per_epoch);
        let schedule = CosineSchedule::new(recipe.learning_rate, recipe.warmup_ratio, total);
        let settings = AdamWSettings {
            weight_decay: recipe.weight_decay,
            ..AdamWSettings::default()
        };
        let optimizer = AdamW::new(recipe.optimizer, settings, recipe.page_optimizer);
        let recipe_kind = recipe.kind();
        std::fs::create_dir_all(&recipe.output_dir).map_err(|e| {
            InputError::file(
                &recipe.output_dir,
                format!("cannot create the run folder: {e}"),
            )
        })?;
        write_atomic(
            &recipe.output_dir.join("recipe.json"),
            serde_json::to_string_pretty(&recipe)?.as_bytes(),
        )?;
        Ok(Self {
            params: params_of(&model),
            recipe,
            model,
            optimizer,
            schedule,
            train,
            eval,
            lengths,
            steps_per_epoch,
            pad_id,
            metrics: MetricsLog::default(),
            step: 0,
            data,
            started: Instant::now(),
            scaler: needs_scaling(recipe_kind).then(LossScaler::default),
        })
    }

    /// The resolved recipe.
    pub fn recipe(&self) -> &Recipe {
        &self.recipe
    }

    /// The model being trained.
    pub fn model(&self) -> &CausalLm {
        &self.model
    }

    /// Total optimizer steps of the run.
    pub fn total_steps(&self) -> u64 {
        self.schedule.total
    }

    /// What the data preparation decided.
    pub fn data_summary(&self) -> DataSummary {
        self.data
    }

    /// The metric records so far.
    pub fn metrics(&self) -> &[MetricRecord] {
        self.metrics.records()
    }

    fn checkpoint_root(&self) -> PathBuf {
        self.recipe.output_dir.join("checkpoints")
    }

    /// Continue from the newest complete checkpoint in the run folder, if any;
    /// returns it.
    pub fn resume(&mut self) -> Result<Option<Resumed>> {
        let root = self.checkpoint_root();
        remove_stale_temporaries(&root)?;
        let Some((_, dir)) = latest_checkpoint(&root) else {
            return Ok(None);
        };
        let state = read_state(&dir)?;
        if state.recipe_hash != self.recipe.numeric_hash() {
            return Err(InputError::file(
                dir.join(STATE_FILE),
                "this checkpoint was made with a different recipe; resume with the same settings or use another output_dir",
            )
            .into());
        }
        match self.model.method {
            Method::Full => self
                .model
                .load_base_weights(read_tensors(&dir.join(MODEL_WEIGHTS))?)?,
            _ => {
                let tensors = read_tensors(&dir.join(ADAPTER_WEIGHTS))?;
                let lora = self.recipe.lora.clone();
                self.model.load_adapters(tensors, &lora)?;
            }
        }
        self.params = params_of(&self.model);
        self.optimizer
            .load_state(read_tensors(&dir.join(OPTIMIZER_FILE))?, &self.params)?;
        self.metrics = MetricsLog::load(
            &self.recipe.output_dir.join("metrics.jsonl"),
            state.metrics_lines,
        )?;
        self.step = state.step;
        if self.scaler.is_some() {
            self.scaler = state.loss_scaler;
        }
        Ok(Some(Resumed {
            dir,
            step: state.step,
        }))
    }

    /// The micro-batches (example indices) of optimizer step `step`.
    fn step_batches(&self, step: u64) -> Vec<Vec<usize>> {
        let epoch = step / self.steps_per_epoch;
        let local = (step % self.steps_per_epoch) as usize * self.recipe.grad_accum;
        let batches = epoch_batches(
            &self.lengths,
            self.recipe.micro_batch_size,
            self.recipe.seed,
            epoch,
            self.recipe.group_by_length,
        );
        let end = (local + self.recipe.grad_accum).min(batches.len());
        batches[local..end].to_vec()
    }

    fn dropout_seed(&self, step: u64, micro: usize) -> i64 {
        let mut rng = SplitMix64::new(self.recipe.seed ^ (step << 20) ^ micro as u64);
        (rng.next_u64() >> 2) as i64
    }

    /// Run one optimizer step; returns (mean loss, grad norm, lr, tokens). With
    /// fp16 loss scaling a step whose gradients overflow is skipped: no update,
    /// no grad norm, the scale halves.
    ///
    /// On a GPU the host queues the whole step before it waits: the batches carry
    /// their host copies (no read-back of ids or labels), the micro-batches' losses
    /// and the grad norm stay on the device until the optimizer step is queued,
    /// and the clipping coefficient is computed there. What still makes the host
    /// wait: fp16's overflow check (one read, before the update it decides on),
    /// and with paged 8-bit states the copies of the new states into host memory
    /// at the end of [`AdamW::step`]; then the losses and the norm are read.
    fn train_step(&mut self) -> Result<(f64, Option<f64>, f64, i64)> {
        let batches = self.step_batches(self.step);
        let tokens: i64 = batches
            .iter()
            .flatten()
            .map(|&i| target_count(&self.train[i]))
            .sum();
        let scale = self.scaler.map_or(1.0, |s| s.scale);
        let mut pending = Vec::with_capacity(batches.len());
        for (j, micro) in batches.iter().enumerate() {
            let examples: Vec<&Example> = micro.iter().map(|&i| &self.train[i]).collect();
            let batch = collate(&examples, self.pad_id, self.model.device);
            let seed = self.dropout_seed(self.step, j);
            pending.push(self.model.forward_backward_queued(
                &batch,
                scale / tokens.max(1) as f64,
                Some(seed),
                self.recipe.gradient_checkpointing,
            )?);
        }
        let found_inf = self.scaler.is_some_and(|s| s.unscale(&self.params));
        let skipped = self.scaler.map_or(0, |s| s.skipped_steps);
        let lr = self.schedule.lr(self.step - skipped);
        let grad_norm = if found_inf {
            None
        } else {
            let norm = clip_grad_norm(&self.params, self.recipe.max_grad_norm);
            self.optimizer.step(&self.params, lr)?;
            Some(norm)
        };
        if let Some(s) = self.scaler.as_mut() {
            s.update(found_inf);
        }
        zero_grads(&self.params);
        self.step += 1;
        // the step's only reads when nothing above waited: summed on the host in
        // micro-batch order, as they were when each was read right away
        let loss_sum = pending.iter().fold(0.0, |sum, p| sum + p.read().loss_sum);
        let grad_norm = grad_norm.map(|n| n.map_or(0.0, |t| t.double_value(&[])));
        Ok((loss_sum / tokens.max(1) as f64, grad_norm, lr, tokens))
    }

    /// The fp16 loss scaler's state (None unless `dtype = "f16"`).
    pub fn loss_scaler(&self) -> Option<LossScaler> {
        self.scaler
    }

    /// Replace the fp16 loss scaler's state (e.g. to start from another scale).
    pub fn set_loss_scaler(&mut self, scaler: LossScaler) {
        if self.scaler.is_some() {
            self.scaler = Some(scaler);
        }
    }

    /// Mean loss over the evaluation set (None when it is empty).
    pub fn eval_loss(&self) -> Option<f64> {
        if self.eval.is_empty() {
            return None;
        }
        let mut order: Vec<usize> = (0..self.eval.len()).collect();
        order.sort_by_key(|&i| self.eval[i].ids.len());
        let (mut sum, mut tokens) = (0.0, 0);
        for chunk in order.chunks(self.recipe.micro_batch_size) {
            let examples: Vec<&Example> = chunk.iter().map(|&i| &self.eval[i]).collect();
            let out = self
                .model
                .eval_loss(&collate(&examples, self.pad_id, self.model.device));
            sum += out.loss_sum;
            tokens += out.tokens;
        }
        Some(sum / tokens.max(1) as f64)
    }

    fn epoch_fraction(&self) -> f64 {
        self.step as f64 / self.steps_per_epoch as f64
    }

    /// Write a checkpoint of the current step (atomically) and prune old ones.
    pub fn save_checkpoint(&self) -> Result<PathBuf> {
        let root = self.checkpoint_root();
        let dir = root.join(checkpoint_name(self.step));
        let state = TrainerState {
            step: self.step,
            total_steps: self.schedule.total,
            epoch: self.step / self.steps_per_epoch,
            micro_batch_in_epoch: (self.step % self.steps_per_epoch)
                * self.recipe.grad_accum as u64,
            seed: self.recipe.seed,
            warmup_steps: self.schedule.warmup,
            peak_lr: self.schedule.peak,
            metrics_lines: self.metrics.records().len(),
            recipe_hash: self.recipe.numeric_hash(),
            loss_scaler: self.scaler,
        };
        write_dir_atomic(&dir, |tmp| {
            self.write_weights(tmp)?;
            write_tensors(&tmp.join(OPTIMIZER_FILE), &self.optimizer.state_tensors())?;
            std::fs::write(tmp.join(STATE_FILE), serde_json::to_string_pretty(&state)?)?;
            Ok(())
        })?;
        prune(&root, self.recipe.keep_checkpoints)?;
        Ok(dir)
    }

    fn write_weights(&self, dir: &Path) -> Result<()> {
        let base = self
            .recipe
            .model
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        match self.model.method {
            Method::Full => save_full_model(dir, &self.model.config, &self.model.base_weights()),
            _ => save_adapter(dir, &self.model.adapters(), &self.recipe.lora, &base),
        }
    }

    /// Train until optimizer step `stop` (or the end of the run), logging,
    /// evaluating and checkpointing on the way; `progress` counts optimizer steps
    /// (the message is the latest loss, each evaluation a note).
    pub fn run_until(&mut self, stop: u64, progress: &dyn Progress) -> Result<()> {
        progress.start(self.schedule.total, "steps");
        progress.advance(self.step);
        let result = self.train_until(stop, progress);
        progress.finish();
        result
    }

    fn train_until(&mut self, stop: u64, progress: &dyn Progress) -> Result<()> {
        let stop = stop.min(self.schedule.total);
        let out = self.recipe.output_dir.clone();
        while self.step < stop {
            let (loss, grad_norm, lr, tokens) = self.train_step()?;
            if !loss.is_finite() {
                bail!("the training loss became {loss} at step {}", self.step);
            }
            let elapsed_s = self.started.elapsed().as_secs_f64();
            let record = MetricRecord {
                step: self.step,
                epoch: self.epoch_fraction(),
                loss: Some(loss),
                lr: Some(lr),
                grad_norm,
                tokens: Some(tokens),
                eval_loss: None,
                elapsed_s,
            };
            self.metrics.push(record);
            progress.advance(1);
            progress.message(&format!("loss {loss:.4} lr {lr:.2e}"));
            let last = self.step == self.schedule.total;
            let eval_due =
                self.recipe.eval_every > 0 && self.step.is_multiple_of(self.recipe.eval_every);
            if eval_due || last {
                if let Some(eval_loss) = self.eval_loss() {
                    progress.note(&format!("step {}: eval loss {eval_loss:.4}", self.step));
                    let record = MetricRecord {
                        step: self.step,
                        epoch: self.epoch_fraction(),
                        loss: None,
                        lr: None,
                        grad_norm: None,
                        tokens: None,
                        eval_loss: Some(eval_loss),
                        elapsed_s,
                    };
                    self.metrics.push(record);
                }
            }
            let save_due = self.step.is_multiple_of(self.recipe.save_every) || last;
            if save_due || eval_due || self.step.is_multiple_of(METRICS_FLUSH_EVERY) {
                self.metrics.flush(&out)?;
            }
            if save_due {
                self.save_checkpoint()
                    .with_context(|| format!("writing the checkpoint of step {}", self.step))?;
            }
        }
        Ok(())
    }

    /// Write the final adapter (`<run>/adapter`) or model (`<run>/model`).
    pub fn export(&self) -> Result<PathBuf> {
        let name = if self.model.method == Method::Full {
            "model"
        } else {
            "adapter"
        };
        let dir = self.recipe.output_dir.join(name);
        write_dir_atomic(&dir, |tmp| self.write_weights(tmp))?;
        Ok(dir)
    }

    /// The trainable tensors by name (copies on the CPU), for comparisons.
    pub fn trainable_snapshot(&self) -> HashMap<String, tch::Tensor> {
        self.model
            .trainable()
            .into_iter()
            .map(|(n, t)| (n, t.detach().to_device(tch::Device::Cpu).copy()))
            .collect()
    }
}
