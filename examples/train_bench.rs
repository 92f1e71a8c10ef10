//! QLoRA speed benchmark of the trainer (issue 8): CausalLm-3-8B shapes with random
//! weights (the real 128,256 vocabulary), NF4 + double quantization, LoRA on the
//! 7 projections, gradient checkpointing, paged 8-bit AdamW, micro-batch × seq
//! tokens per step, through the real trainer ([`Trainer`] steps on
//! [`CausalLm::from_source`]). Weights are drawn and quantized one at a time on the
//! device, so no f32 copy of the model ever exists.
//!
//! Prints one JSON line shaped like `hf_qlora_baseline.py`'s, plus the Unix times
//! the timed steps began and ended (for an external GPU-memory poller: tch has
//! no `max_memory_allocated`).
//!
//! ```sh
//! train_bench --device cuda                     # Llama-3-8B shapes
//! train_bench --device cpu --layers 2 --hidden 64 --intermediate 128 --heads 4 \
//!     --kv-heads 2 --seq 32 --steps 3            # a CPU check
//! ```

use std::collections::HashMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use clap::Parser;
use okla_formats::progress::NoProgress;
use okla_train::config::HfConfig;
use okla_train::data::{collate, Example};
use okla_train::model::{CausalLm, Method};
use okla_train::recipe::{Recipe, RecipeFields};
use okla_train::trainer::Trainer;
use tch::{Device, Kind, Tensor};

/// The benchmark's shape and run length.
#[derive(Debug, Parser)]
struct Args {
    /// Decoder layers.
    #[arg(long, default_value_t = 32)]
    layers: i64,
    /// Model width.
    #[arg(long, default_value_t = 4096)]
    hidden: i64,
    /// MLP width.
    #[arg(long, default_value_t = 14336)]
    intermediate: i64,
    /// Query heads.
    #[arg(long, default_value_t = 32)]
    heads: i64,
    /// Key/value heads.
    #[arg(long, default_value_t = 8)]
    kv_heads: i64,
    /// Vocabulary.
    #[arg(long, default_value_t = 128_256)]
    vocab: i64,
    /// Tokens per sequence.
    #[arg(long, default_value_t = 2048)]
    seq: usize,
    /// Sequences per micro-batch.
    #[arg(long, default_value_t = 2)]
    batch: usize,
    /// Optimizer steps (the first two are warm-up when more than three).
    #[arg(long, default_value_t = 6)]
    steps: u64,
    /// LoRA rank (alpha = 2 r).
    #[arg(long, default_value_t = 16)]
    r: i64,
    /// Keep the 8-bit AdamW states in pinned host memory between steps (the
    /// recipe's default); `false` keeps them on the device.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    page_optimizer: bool,
    /// MLP piece size of the recomputed backward, in intermediate values (default:
    /// the trainer's; larger pieces trade peak memory for fewer kernel launches).
    #[arg(long)]
    mlp_piece_values: Option<i64>,
    /// `cuda` or `cpu`.
    #[arg(long, default_value = "cuda")]
    device: String,
    /// Run folder (recipe.json, metrics.jsonl).
    #[arg(long, default_value = "/tmp/okla-train-bench")]
    output_dir: std::path::PathBuf,
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let config = HfConfig {
        vocab_size: args.vocab,
        hidden_size: args.hidden,
        intermediate_size: args.intermediate,
        num_hidden_layers: args.layers,
        num_attention_heads: args.heads,
        num_key_value_heads: Some(args.kv_heads),
        head_dim: None,
        rms_norm_eps: 1e-5,
        rope_theta: 500_000.0,
        rope_scaling: None,
        rope_parameters: None,
        max_position_embeddings: 8192,
        tie_word_embeddings: false,
        architectures: vec!["LlamaForCausalLM".into()],
        model_type: "llama".into(),
        gemma3: Default::default(),
    };
    // one step more than is run, so that the end-of-run checkpoint is never written
    let fields = RecipeFields {
        output_dir: Some(args.output_dir.clone()),
        lora_r: Some(args.r),
        lora_alpha: Some(2.0 * args.r as f64),
        micro_batch_size: Some(args.batch),
        grad_accum: Some(1),
        max_steps: Some(args.steps + 1),
        max_seq_len: Some(args.seq),
        eval_every: Some(0),
        save_every: Some(u64::MAX),
        device: Some(args.device.clone()),
        page_optimizer: Some(args.page_optimizer),
        ..RecipeFields::default()
    };
    let recipe = Recipe::resolve(fields, None)?;
    let device = recipe.device();
    tch::manual_seed(0);
    let started = Instant::now();
    let shapes: HashMap<String, Vec<i64>> = CausalLm::weight_shapes(&config).into_iter().collect();
    let mut model = CausalLm::from_source(
        config.clone(),
        |name| Ok(shapes.get(name).map(|s| CausalLm::random_weight(s, device))),
        Method::Qlora,
        &recipe.lora,
        recipe.kind(),
        device,
    )?;
    if let Some(values) = args.mlp_piece_values {
        model.set_mlp_piece_values(values);
    }
    sync(device);
    let setup_s = started.elapsed().as_secs_f64();
    let trainable: i64 = model
        .trainable()
        .iter()
        .map(|(_, t)| t.numel() as i64)
        .sum();
    // random tokens, every position labelled (as the baseline's `labels = input_ids`)
    let tokens = Tensor::randint(
        args.vocab,
        [(args.batch as u64 * args.steps) as i64, args.seq as i64],
        (Kind::Int64, Device::Cpu),
    );
    let train: Vec<Example> = (0..tokens.size()[0])
        .map(|i| {
            let ids = Vec::<i64>::try_from(tokens.get(i)).unwrap_or_default();
            Example {
                labels: ids.clone(),
                ids,
            }
        })
        .collect();
    let train_copy = train[..args.batch].to_vec();
    let mut trainer = Trainer::new(recipe, model, train, Vec::new(), 0)?;
    let t_start = unix_now();
    let mut step_s = Vec::new();
    for step in 0..args.steps {
        sync(device);
        let t = Instant::now();
        trainer.run_until(step + 1, &NoProgress)?;
        sync(device);
        step_s.push(t.elapsed().as_secs_f64());
    }
    let t_end = unix_now();
    // the same micro-batch's forward + backward alone: the rest of a step is the
    // clipping, the optimizer and the data
    let first: Vec<&Example> = train_copy.iter().take(args.batch).collect();
    let batch = collate(&first, 0, device);
    let mut fwd_bwd_s = Vec::new();
    for _ in 0..3 {
        sync(device);
        let t = Instant::now();
        trainer
            .model()
            .forward_backward(&batch, 1.0 / 4096.0, Some(1), true)?;
        sync(device);
        fwd_bwd_s.push((t.elapsed().as_secs_f64() * 1000.0).round() / 1000.0);
    }
    let timed = if step_s.len() > 3 {
        &step_s[2..]
    } else {
        &step_s[..]
    };
    let mean = timed.iter().sum::<f64>() / timed.len().max(1) as f64;
    let losses: Vec<f64> = trainer.metrics().iter().filter_map(|m| m.loss).collect();
    let report = serde_json::json!({
        "impl": "okla-eval trainer (tch)",
        "layers": args.layers, "seq": args.seq, "batch": args.batch, "lora_r": args.r,
        "trainable_params": trainable,
        "step_s": step_s.iter().map(|s| (s * 1000.0).round() / 1000.0).collect::<Vec<_>>(),
        "tokens_per_s": ((args.batch * args.seq) as f64 / mean * 10.0).round() / 10.0,
        "setup_s": (setup_s * 10.0).round() / 10.0,
        "loss": losses,
        "fwd_bwd_s": fwd_bwd_s,
        "page_optimizer": args.page_optimizer,
        "mlp_piece_values": args.mlp_piece_values,
        "t_steps_start": t_start, "t_steps_end": t_end,
        "device": format!("{device:?}"),
    });
    println!("{report}");
    Ok(())
}
