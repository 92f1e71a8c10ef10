//! `okla-eval train --config train.toml [--flag value ...]`: fine-tune a Llama or Gemma 3
//! model (QLoRA, LoRA or full) on chat JSONL; every recipe field can be set in
//! the TOML file or overridden by the flag of the same name.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::export_cmd::Plan;
use okla_formats::error::InputError;
use okla_formats::gguf::FileType;
use okla_harness::suite::load_jsonl;
use okla_train::base_model::load_base_model;
use okla_train::data::{encode_all, pad_id};
use okla_train::model::CausalLm;
use okla_train::recipe::{Recipe, RecipeFields};
use okla_train::trainer::Trainer;
use okla_train::weight_source::BaseWeights;

/// Arguments of `train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The recipe (TOML; fields as the flags below, with underscores).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Continue from the newest complete checkpoint in the output folder.
    #[arg(long)]
    pub resume: bool,
    /// When training ends, export the model as this GGUF type through the gate
    /// (`okla-eval export --run`): written to OUTPUT_DIR/model-TYPE.gguf only if it
    /// passes the suite's eval split.
    #[arg(long, value_parser = super::choice::choice::<FileType>(), value_name = "TYPE")]
    pub export: Option<FileType>,
    /// The suite that gates the export.
    #[arg(long, default_value = "suites/okla")]
    pub export_suite: PathBuf,
    /// Recipe fields (override the file).
    #[command(flatten)]
    pub fields: RecipeFields,
}

/// Run `train`; returns the exit code.
pub fn run(args: TrainArgs) -> Result<u8> {
    let file = match &args.config {
        Some(path) => RecipeFields::from_toml_file(path)?,
        None => RecipeFields::default(),
    };
    let recipe = Recipe::resolve(file.overlay(args.fields), args.config.as_deref())?;
    let missing = |field: &str| -> anyhow::Error {
        InputError::usage(format!(
            "the recipe needs `{field}` (in the config file or as --{})",
            field.replace('_', "-")
        ))
        .with_field(field)
        .into()
    };
    let model_path = recipe.model.clone().ok_or_else(|| missing("model"))?;
    let train_file = recipe
        .train_file
        .clone()
        .ok_or_else(|| missing("train_file"))?;
    // the data first: a bad file fails before a large model is read
    let train = load_jsonl(&train_file)?;
    let eval = match &recipe.eval_file {
        Some(path) => load_jsonl(path)?,
        None => Vec::new(),
    };
    eprintln!(
        "loading {} ({:?}, {})",
        model_path.display(),
        recipe.method,
        recipe.dtype
    );
    let base = load_base_model(&model_path, !recipe.from_scratch)?;
    let train = encode_all(&train, &base.tokenizer)?;
    let eval = encode_all(&eval, &base.tokenizer)?;
    tch::manual_seed(recipe.seed as i64);
    let mut weights = if recipe.from_scratch {
        eprintln!(
            "from scratch: random initial weights (seed {})",
            recipe.seed
        );
        BaseWeights::Memory(CausalLm::random_weights(&base.config))
    } else {
        base.weights
    };
    let model = CausalLm::from_source(
        base.config,
        |name| weights.take(name),
        recipe.method,
        &recipe.lora,
        recipe.kind(),
        recipe.device(),
    )?;
    let pad = pad_id(&base.tokenizer);
    let resume = args.resume;
    let mut trainer = Trainer::new(recipe, model, train, eval, pad)?;
    let data = trainer.data_summary();
    eprintln!(
        "max_seq_len = {} ({}); truncated {} of {} training conversations",
        data.max_seq_len,
        if trainer.recipe().max_seq_len.is_some() {
            "set"
        } else {
            "P95 of the training set"
        },
        data.truncated,
        data.examples
    );
    if resume {
        match trainer.resume()? {
            Some(from) => eprintln!("resumed from {} (step {})", from.dir.display(), from.step),
            None => eprintln!("no checkpoint to resume from: starting at step 0"),
        }
    }
    let total = trainer.total_steps();
    trainer.run_until(total, &super::progress::Terminal::stderr())?;
    let out = trainer.export()?;
    let last = trainer.metrics().iter().rev().find_map(|m| m.loss);
    let eval = trainer.metrics().iter().rev().find_map(|m| m.eval_loss);
    eprintln!(
        "done: {total} steps, last train loss {}, eval loss {}; weights in {}",
        last.map_or("-".into(), |l| format!("{l:.4}")),
        eval.map_or("-".into(), |l| format!("{l:.4}")),
        out.display()
    );
    match args.export {
        Some(file_type) => {
            let run = &trainer.recipe().output_dir;
            let out = run.join(format!("model-{}.gguf", file_type.label()));
            Plan::training_run(run, None)?.export(
                file_type,
                &out,
                &args.export_suite,
                false,
                super::default_threads(),
            )
        }
        None => Ok(crate::cli::EXIT_PASS),
    }
}
