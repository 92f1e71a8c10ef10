//! Parity probe for the trainer against transformers + peft + torch.optim.AdamW
//! (run by `scripts/gpu/gpu_parity.py`, which prepares the folder and compares).
//!
//! Usage: `train_parity DIR DTYPE` where DIR holds `model/` (HF folder), `adapter/`
//! (peft folder), `inputs.safetensors` (`input_ids`, `labels`) and
//! `ref_<dtype>.safetensors` (the reference gradients, fed to our AdamW for the
//! optimizer check). Writes `ours_<dtype>.safetensors` into DIR.

use std::path::PathBuf;

use anyhow::{Context, Result};
use okla_train::adapter::{load_adapter, read_tensors, write_tensors};
use okla_train::config::HfConfig;
use okla_train::model::{Batch, CausalLm, Method};
use okla_train::optim::{AdamW, AdamWSettings, OptimizerKind, Param};
use okla_train::weight_source::BaseWeights;
use tch::{Device, Kind, Tensor};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(1).context("usage: train_parity DIR DTYPE")?);
    let dtype = args.get(2).map(String::as_str).unwrap_or("f32");
    let kind = if dtype == "bf16" {
        Kind::BFloat16
    } else {
        Kind::Float
    };
    let device = Device::cuda_if_available();
    eprintln!("device {device:?}, dtype {dtype}");
    let config = HfConfig::load(&dir.join("model/config.json"))?;
    let weights = BaseWeights::open_folder(&dir.join("model"))?.into_map()?;
    let (lora, adapters) = load_adapter(&dir.join("adapter"))?;
    let mut model = CausalLm::from_weights(config, weights, Method::Lora, &lora, kind, device)?;
    model.load_adapters(adapters, &lora)?;
    let inputs = read_tensors(&dir.join("inputs.safetensors"))?;
    let batch = Batch::from_host(
        inputs["input_ids"].shallow_clone(),
        inputs["labels"].shallow_clone(),
        device,
    );
    let mut out: Vec<(String, Tensor)> = vec![("logits".into(), model.logits(&batch.input_ids))];
    for (name, checkpointing) in [("plain", false), ("ckpt", true)] {
        let tokens = batch
            .labels
            .narrow(1, 1, batch.labels.size()[1] - 1)
            .ne(-100)
            .sum(Kind::Int64)
            .int64_value(&[]);
        let loss = model.forward_backward(&batch, 1.0 / tokens as f64, None, checkpointing)?;
        out.push((
            format!("loss.{name}"),
            Tensor::from_slice(&[loss.loss_sum / loss.tokens as f64]),
        ));
        for (n, t) in model.adapters() {
            let mut g = t.grad();
            out.push((format!("grad.{name}.{n}"), g.copy()));
            let _ = g.zero_();
        }
    }
    // one AdamW step on the reference gradients, against torch.optim.AdamW
    let reference = read_tensors(&dir.join(format!("ref_{dtype}.safetensors")))?;
    let params: Vec<Param> = model
        .adapters()
        .into_iter()
        .map(|(name, tensor)| {
            let g = reference[&format!("grad.{name}")]
                .to_device(device)
                .to_kind(Kind::Float);
            (&tensor * g).sum(Kind::Float).backward();
            Param {
                name,
                tensor,
                decay: true,
            }
        })
        .collect();
    let settings = AdamWSettings {
        weight_decay: 0.01,
        ..AdamWSettings::default()
    };
    let mut opt = AdamW::new(OptimizerKind::Adamw, settings, false);
    opt.step(&params, 1e-3)?;
    for p in &params {
        out.push((format!("stepped.{}", p.name), p.tensor.detach()));
    }
    write_tensors(&dir.join(format!("ours_{dtype}.safetensors")), &out)?;
    eprintln!("wrote ours_{dtype}.safetensors");
    Ok(())
}
