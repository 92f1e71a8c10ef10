//! The decoder-only model on libtorch ([`CausalLm`]), written to match Hugging Face
//! `LlamaForCausalLM` operation for operation (RMSNorm in f32, RoPE tables in f32
//! cast to the compute dtype, SDPA causal attention with grouped-query heads,
//! SiLU-gated MLP, f32 cross-entropy), and `Gemma3ForCausalLM` with the differences
//! [`super::gemma3`] lists (sandwich and per-head norms, scaled embeddings, sliding
//! windows with their own RoPE, tanh-GELU), with layer-wise gradient checkpointing
//! done by hand. The architecture is the config's `model_type`.
//!
//! Checkpointing: tch has no checkpoint API, so [`CausalLm::forward_backward`] runs
//! every decoder layer under `no_grad`, keeping only each layer's input; the loss
//! head runs with autograd on a detached copy of the last hidden state; then the
//! layers are walked backwards, each recomputed with autograd from its saved
//! input and back-propagated with the incoming gradient (`sum(y * g).backward()`),
//! which yields the gradient for the layer below. LoRA dropout masks are
//! reproduced in the recomputation by seeding torch's RNG per layer.
//!
//! Within a recomputed layer the two halves are back-propagated apart: the
//! attention half is recomputed with autograd, its output detached, and the MLP
//! half recomputed and back-propagated in pieces of at most [`MLP_CHUNK_VALUES`]
//! intermediate values (the MLP is position-wise), sharing one dequantized copy of
//! each MLP weight; then the attention half receives the gathered gradient. Only
//! one piece's MLP activations are alive at once, which is what bounds the peak
//! memory of an 8B QLoRA step when the batch is larger than one piece. The MLP
//! always runs in the same pieces (also without autograd), so dropout masks drawn
//! in the recomputation equal the forward pass's. A frozen, untied embedding table
//! (LoRA and QLoRA on Llama 3) stays in host memory and only the gathered rows
//! travel to the GPU.
//!
//! Host waits: a [`Batch`] made on the host keeps its host tensors, so the
//! embedding gather and the loss head's labelled rows never read ids or labels back
//! from the GPU, host-to-device copies go through page-locked memory without
//! blocking ([`upload`]), and [`CausalLm::forward_backward_queued`] leaves the loss
//! on the device: the host queues a whole forward and backward without waiting.

use std::collections::HashMap;

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use super::config::{Architecture, HfConfig};
use super::gemma3;
use super::lora::{BaseWeight, Linear, LoraPair, LoraSettings};
use super::nf4::{Nf4Tables, Nf4Tensor};
use okla_formats::gguf::llama_names::ROPE_FREQS;

/// How the base model is trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Frozen NF4 base + LoRA adapters.
    Qlora,
    /// Frozen 16-bit base + LoRA adapters.
    Lora,
    /// Every weight trainable (f32 master weights), no adapters.
    Full,
}

/// Label value that takes no part in the loss.
pub const IGNORE_INDEX: i64 = -100;
/// Logits computed at once by the LM head (32 Mi f32 values = 128 MiB): chunks of
/// `HEAD_CHUNK_LOGITS / vocab` rows bound the logits, their f32 copy, the saved
/// log-softmax and their gradients to ~0.6 GiB at the 128k Llama 3 vocabulary.
const HEAD_CHUNK_LOGITS: i64 = 32 << 20;
/// MLP intermediate values computed at once by default (64 Mi = 128 MiB in bf16):
/// pieces of `MLP_CHUNK_VALUES / intermediate_size` token rows (4,681 at
/// Llama-3-8B's 14,336, so the benchmark's 2 × 2,048 tokens make one piece; see
/// [`CausalLm::set_mlp_piece_values`]). Measured on an H200 at 8B (docs/train.md):
/// one piece peaks at 9.05 GiB and runs 5,578 tokens/s, 16 Mi pieces 8.42 GiB and
/// 4,748 tokens/s; with the host-resident embedding, one piece fits the 9.3 GiB
/// budget, so the launches saved win.
const MLP_CHUNK_VALUES: i64 = 64 << 20;

/// A tokenized micro-batch: right-padded ids and labels (`IGNORE_INDEX` where no loss).
///
/// Built with [`Batch::from_host`] (as the trainer builds every batch), it keeps the
/// host tensors it was made from beside their device copies, so that a forward pass
/// never reads the ids or labels back from the GPU: the host-resident embedding
/// table is gathered from the host ids and the loss's labelled rows are found in
/// the host labels (see [`CausalLm::forward_backward`]).
#[derive(Debug)]
pub struct Batch {
    /// `[b, t]` int64 token ids.
    pub input_ids: Tensor,
    /// `[b, t]` int64 labels, aligned with `input_ids` (the shift happens inside).
    pub labels: Tensor,
    /// `(input_ids, labels)` in host memory, when the batch was made there.
    host: Option<(Tensor, Tensor)>,
}

impl Batch {
    /// A batch of tensors already where they are to be used (no host copy: a
    /// forward pass on a GPU then reads the ids and labels back once, a sync).
    pub fn new(input_ids: Tensor, labels: Tensor) -> Self {
        Self {
            input_ids,
            labels,
            host: None,
        }
    }

    /// A batch from host tensors (`[b, t]` int64 each): they are kept, and sent to
    /// `device` without making the host wait (see [`upload`]).
    pub fn from_host(input_ids: Tensor, labels: Tensor, device: Device) -> Self {
        let (input_ids, labels) = (
            input_ids.to_device(Device::Cpu),
            labels.to_device(Device::Cpu),
        );
        Self {
            input_ids: upload(&input_ids, device),
            labels: upload(&labels, device),
            host: Some((input_ids, labels)),
        }
    }

    /// The token ids in host memory: the kept host copy, the ids themselves when
    /// they are on the CPU, else `None`.
    pub fn host_input_ids(&self) -> Option<&Tensor> {
        match &self.host {
            Some((ids, _)) => Some(ids),
            None => (self.input_ids.device() == Device::Cpu).then_some(&self.input_ids),
        }
    }

    /// The labels in host memory (as [`Batch::host_input_ids`]).
    pub fn host_labels(&self) -> Option<&Tensor> {
        match &self.host {
            Some((_, labels)) => Some(labels),
            None => (self.labels.device() == Device::Cpu).then_some(&self.labels),
        }
    }
}

/// `t` (in host memory) on `device`, without blocking the host on a GPU: `t` is
/// copied into page-locked memory and sent with `non_blocking`, so the copy is
/// queued on the current CUDA stream like a kernel (a blocking host-to-device
/// copy synchronises the whole stream). The page-locked copy may be dropped at
/// once: it comes from libtorch's caching host allocator, and the non-blocking
/// copy records an event on the stream for that block (PyTorch's
/// `CachingHostAllocator_recordEvent`), so the block is not handed out again
/// before the copy has read it: the `pin_memory()` + `.to(non_blocking=True)`
/// idiom of PyTorch's DataLoader. Elsewhere (a CPU "device") a plain copy.
pub fn upload(t: &Tensor, device: Device) -> Tensor {
    match device {
        // `_pin_memory`: `pin_memory(device)` does the same after a deprecation
        // warning for the device argument, which tch always passes
        Device::Cuda(_) if t.device() == Device::Cpu => {
            t.internal_pin_memory(device)
                .to_device_(device, t.kind(), true, false)
        }
        _ => t.to_device(device),
    }
}

/// The summed loss of a forward pass and how many label tokens it covered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossSum {
    /// Sum of token cross-entropies (nats).
    pub loss_sum: f64,
    /// Number of label tokens.
    pub tokens: i64,
}

/// A [`LossSum`] whose sum is still on the model's device (the work that computes
/// it may still be queued on the GPU): what [`CausalLm::forward_backward_queued`]
/// returns, so that the caller reads it only when it has queued the rest of its
/// step (a read makes the host wait for the GPU).
#[derive(Debug)]
pub struct PendingLoss {
    /// The f64 0-dim sum of token cross-entropies (`None`: no label token).
    sum: Option<Tensor>,
    /// Number of label tokens.
    pub tokens: i64,
}

impl PendingLoss {
    /// Read the sum (on a GPU the host waits for every kernel queued so far).
    pub fn read(&self) -> LossSum {
        LossSum {
            loss_sum: self.sum.as_ref().map_or(0.0, |s| s.double_value(&[])),
            tokens: self.tokens,
        }
    }
}

/// The role of a norm weight in a decoder layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Norm {
    /// Before attention (`input_layernorm`).
    Input,
    /// Before the MLP (Llama's `post_attention_layernorm`, Gemma's
    /// `pre_feedforward_layernorm`).
    PreMlp,
    /// Per query head (Gemma's `self_attn.q_norm`).
    Query,
    /// Per key head (Gemma's `self_attn.k_norm`).
    Key,
    /// On the attention's output, before the residual add (Gemma's
    /// `post_attention_layernorm`).
    AttentionOut,
    /// On the MLP's output, before the residual add (Gemma's `post_feedforward_layernorm`).
    MlpOut,
}

/// The norm weights of a Llama layer: (name after `model.layers.N.`, role).
const LLAMA_NORMS: [(&str, Norm); 2] = [
    ("input_layernorm", Norm::Input),
    ("post_attention_layernorm", Norm::PreMlp),
];
/// The norm weights of a Gemma 3 layer.
const GEMMA3_NORMS: [(&str, Norm); 6] = [
    ("input_layernorm", Norm::Input),
    ("self_attn.q_norm", Norm::Query),
    ("self_attn.k_norm", Norm::Key),
    ("post_attention_layernorm", Norm::AttentionOut),
    ("pre_feedforward_layernorm", Norm::PreMlp),
    ("post_feedforward_layernorm", Norm::MlpOut),
];

/// The norm weights a layer of `arch` has.
fn layer_norms(arch: Architecture) -> &'static [(&'static str, Norm)] {
    match arch {
        Architecture::Llama => &LLAMA_NORMS,
        Architecture::Gemma3 => &GEMMA3_NORMS,
    }
}

/// Parameters of one decoder layer.
#[derive(Debug)]
pub struct DecoderLayer {
    /// The norm weights in the order of [`layer_norms`], with their roles.
    norms: Vec<(Norm, Tensor)>,
    /// Attends to the last `sliding_window` positions only (Gemma 3).
    sliding: bool,
    /// Which of the model's RoPE tables rotates its queries and keys.
    rope: usize,
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    gate: Linear,
    up: Linear,
    down: Linear,
}

impl DecoderLayer {
    /// The norm weight of `role`, if the layer has one.
    fn norm(&self, role: Norm) -> Option<&Tensor> {
        self.norms.iter().find(|(r, _)| *r == role).map(|(_, t)| t)
    }

    fn projections(&self) -> [(&'static str, &'static str, &Linear); 7] {
        [
            ("self_attn", "q_proj", &self.q),
            ("self_attn", "k_proj", &self.k),
            ("self_attn", "v_proj", &self.v),
            ("self_attn", "o_proj", &self.o),
            ("mlp", "gate_proj", &self.gate),
            ("mlp", "up_proj", &self.up),
            ("mlp", "down_proj", &self.down),
        ]
    }

    fn projections_mut(&mut self) -> [(&'static str, &'static str, &mut Linear); 7] {
        [
            ("self_attn", "q_proj", &mut self.q),
            ("self_attn", "k_proj", &mut self.k),
            ("self_attn", "v_proj", &mut self.v),
            ("self_attn", "o_proj", &mut self.o),
            ("mlp", "gate_proj", &mut self.gate),
            ("mlp", "up_proj", &mut self.up),
            ("mlp", "down_proj", &mut self.down),
        ]
    }
}

/// HF's LlamaRMSNorm: normalise in f32, cast back, multiply by the weight.
fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64) -> Tensor {
    let kind = x.kind();
    let xf = x.to_kind(Kind::Float);
    let var = xf.pow_tensor_scalar(2).mean_dim(-1, true, Kind::Float);
    let normed = (xf * (var + eps).rsqrt()).to_kind(kind);
    weight.to_kind(kind) * normed
}

/// `[x1, x2] -> [-x2, x1]` on the last dimension.
fn rotate_half(x: &Tensor) -> Tensor {
    let half = x.size().last().copied().unwrap_or(0) / 2;
    let x1 = x.narrow(-1, 0, half);
    let x2 = x.narrow(-1, half, half);
    Tensor::cat(&[-x2, x1], -1)
}

/// Grouped-query attention as transformers' SDPA integration runs it
/// (`sdpa_attention_forward`): causal through `is_causal` without a mask, else the
/// boolean `mask`; the key/value heads shared through `enable_gqa` when there is no
/// mask and heads are at most 256 wide, else repeated (`repeat_kv`).
fn attention(q: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&Tensor>, scale: f64) -> Tensor {
    let (nh, nkv, hd) = (q.size()[1], k.size()[1], q.size()[3]);
    let gqa_in_sdpa = mask.is_none() && hd <= 256;
    let repeat = |x: &Tensor| -> Tensor {
        if nkv == nh || gqa_in_sdpa {
            return x.shallow_clone();
        }
        let s = x.size();
        x.unsqueeze(2)
            .expand([s[0], nkv, nh / nkv, s[2], s[3]], false)
            .reshape([s[0], nh, s[2], s[3]])
    };
    Tensor::scaled_dot_product_attention(
        q,
        &repeat(k),
        &repeat(v),
        mask,
        0.0,
        mask.is_none(),
        scale,
        nkv != nh && gqa_in_sdpa,
    )
}

/// What a HF weight name must be found as.
fn take(weights: &mut HashMap<String, Tensor>, name: &str) -> Result<Tensor> {
    weights
        .remove(name)
        .ok_or_else(|| anyhow!("the model has no tensor `{name}`"))
}

/// The model: a Llama or a Gemma 3 (its config's `model_type`).
#[derive(Debug)]
pub struct CausalLm {
    /// Architecture.
    pub config: HfConfig,
    /// What the config's `model_type` names.
    arch: Architecture,
    /// How it is trained.
    pub method: Method,
    /// Compute dtype of activations.
    pub kind: Kind,
    /// Where the tensors live.
    pub device: Device,
    /// Input embeddings: on `device`, except a frozen untied table, which stays in
    /// host memory.
    embed: Tensor,
    layers: Vec<DecoderLayer>,
    norm: Tensor,
    lm_head: Option<Tensor>,
    /// RoPE inverse frequencies, f32: one table (Llama), or the global layers' and
    /// the sliding-window layers' (Gemma 3); each layer names its own.
    inv_freqs: Vec<Tensor>,
    /// Gemma 3's embedding factor ([`gemma3::embed_scale`]).
    embed_scale: Option<Tensor>,
    mlp_piece_values: i64,
    loss_rows: Option<LossRows>,
}

/// What the layers of one forward pass share ([`CausalLm::positions`]).
#[derive(Debug)]
struct Positions {
    /// `(cos, sin)` per RoPE table of the model.
    rope: Vec<(Tensor, Tensor)>,
    /// The sliding-window layers' mask (`None`: causal attention suffices).
    sliding_mask: Option<Tensor>,
}

/// The tokens a restricted training loss runs over
/// ([`CausalLm::restrict_loss_vocabulary`]).
#[derive(Debug)]
struct LossRows {
    /// Token ids, ascending: the rows of the head weight taken.
    ids: Tensor,
    /// Per token id, its position in `ids` ([`IGNORE_INDEX`] when absent).
    position: Tensor,
}

impl CausalLm {
    /// Every weight of `config` under its HF name with its shape (1-D: a norm); an
    /// unsupported `model_type` has none.
    pub fn weight_shapes(config: &HfConfig) -> Vec<(String, Vec<i64>)> {
        let Ok(arch) = config.architecture() else {
            return Vec::new();
        };
        let (h, i, hd) = (
            config.hidden_size,
            config.intermediate_size,
            config.head_dim(),
        );
        let (nh, nkv) = (config.num_attention_heads, config.kv_heads());
        let mut w = vec![(
            "model.embed_tokens.weight".to_string(),
            vec![config.vocab_size, h],
        )];
        for l in 0..config.num_hidden_layers {
            let p = format!("model.layers.{l}");
            for (name, shape) in [
                ("self_attn.q_proj", vec![nh * hd, h]),
                ("self_attn.k_proj", vec![nkv * hd, h]),
                ("self_attn.v_proj", vec![nkv * hd, h]),
                ("self_attn.o_proj", vec![h, nh * hd]),
                ("mlp.gate_proj", vec![i, h]),
                ("mlp.up_proj", vec![i, h]),
                ("mlp.down_proj", vec![h, i]),
            ] {
                w.push((format!("{p}.{name}.weight"), shape));
            }
            for (name, role) in layer_norms(arch) {
                let width = if matches!(role, Norm::Query | Norm::Key) {
                    hd
                } else {
                    h
                };
                w.push((format!("{p}.{name}.weight"), vec![width]));
            }
        }
        w.push(("model.norm.weight".to_string(), vec![h]));
        if !config.tie_word_embeddings {
            w.push(("lm_head.weight".to_string(), vec![config.vocab_size, h]));
        }
        w
    }

    /// One weight as HF initialises it: normal(0, 0.02) for matrices, ones for
    /// norms, f32 on `device`, from torch's RNG.
    pub fn random_weight(shape: &[i64], device: Device) -> Tensor {
        let opts = (Kind::Float, device);
        if shape.len() == 1 {
            Tensor::ones(shape, opts)
        } else {
            Tensor::randn(shape, opts) * 0.02
        }
    }

    /// Random weights as HF initialises a fresh `LlamaForCausalLM` (or
    /// `Gemma3ForCausalLM`, whose norms start at zero: they scale by `1 + weight`),
    /// f32 on the CPU, from torch's global RNG.
    pub fn random_weights(config: &HfConfig) -> HashMap<String, Tensor> {
        let gemma = config.architecture() == Ok(Architecture::Gemma3);
        Self::weight_shapes(config)
            .into_iter()
            .map(|(name, shape)| {
                let t = Self::random_weight(&shape, Device::Cpu);
                let t = if gemma && shape.len() == 1 {
                    t.zeros_like()
                } else {
                    t
                };
                (name, t)
            })
            .collect()
    }

    /// Build the model from HF-named weights (consumed from `weights`): linear
    /// weights become NF4 (QLoRA), compute-dtype (LoRA) or f32 trainable (full);
    /// fresh LoRA adapters come from torch's global RNG. A `rope_freqs.weight`
    /// (llama.cpp's Llama 3.1 RoPE divisors, from a GGUF) divides a Llama's inverse
    /// frequencies.
    pub fn from_weights(
        config: HfConfig,
        mut weights: HashMap<String, Tensor>,
        method: Method,
        lora: &LoraSettings,
        kind: Kind,
        device: Device,
    ) -> Result<Self> {
        Self::from_source(
            config,
            |name| Ok(weights.remove(name)),
            method,
            lora,
            kind,
            device,
        )
    }

    /// [`Self::from_weights`] with each weight asked for by HF name when it is
    /// needed (`Ok(None)`: absent; an error, e.g. an unreadable file, stops the
    /// build), so that a large model never has every weight on the host at once:
    /// each linear weight is quantized or cast and moved to `device` as soon as it
    /// arrives ([`super::weight_source::BaseWeights::take`] streams a base this way).
    pub fn from_source(
        config: HfConfig,
        mut source: impl FnMut(&str) -> Result<Option<Tensor>>,
        method: Method,
        lora: &LoraSettings,
        kind: Kind,
        device: Device,
    ) -> Result<Self> {
        let mut need = |name: &str| -> Result<Tensor> {
            source(name)?.ok_or_else(|| anyhow!("the model has no tensor `{name}`"))
        };
        config.validate().map_err(|m| anyhow!("config: {m}"))?;
        let arch = config.architecture().map_err(|m| anyhow!("config: {m}"))?;
        let tables = (method == Method::Qlora).then(|| Nf4Tables::new(device));
        let frozen16 = |t: Tensor| t.to_device(device).to_kind(kind).detach();
        let trainable32 = |t: Tensor| {
            t.to_device(device)
                .to_kind(Kind::Float)
                .detach()
                .set_requires_grad(true)
        };
        let side = |t: Tensor| match method {
            Method::Full => trainable32(t),
            _ => frozen16(t),
        };
        let mut layers = Vec::with_capacity(config.num_hidden_layers as usize);
        for l in 0..config.num_hidden_layers {
            let p = format!("model.layers.{l}");
            let mut linear = |module: &str, proj: &str| -> Result<Linear> {
                // on the device first: a GPU quantizes in tensor ops, and the host
                // copy is freed at once
                let w = need(&format!("{p}.{module}.{proj}.weight"))?.to_device(device);
                let shape = w.size();
                let base = match (method, &tables) {
                    (Method::Qlora, Some(t)) => BaseWeight::Nf4(
                        Nf4Tensor::quantize(&w, t)
                            .with_context(|| format!("quantizing {p}.{module}.{proj}"))?,
                    ),
                    (Method::Full, _) => BaseWeight::Dense(trainable32(w)),
                    _ => BaseWeight::Dense(frozen16(w)),
                };
                let adapter = (method != Method::Full && lora.targets.iter().any(|t| t == proj))
                    .then(|| LoraPair::init(shape[1], shape[0], lora, device));
                Ok(Linear {
                    base,
                    lora: adapter,
                })
            };
            let sliding = config.is_sliding(l);
            let layer = DecoderLayer {
                sliding,
                // Gemma 3: table 0 for the global layers, 1 for the sliding ones
                rope: usize::from(sliding),
                q: linear("self_attn", "q_proj")?,
                k: linear("self_attn", "k_proj")?,
                v: linear("self_attn", "v_proj")?,
                o: linear("self_attn", "o_proj")?,
                gate: linear("mlp", "gate_proj")?,
                up: linear("mlp", "up_proj")?,
                down: linear("mlp", "down_proj")?,
                norms: layer_norms(arch)
                    .iter()
                    .map(|(name, role)| Ok((*role, side(need(&format!("{p}.{name}.weight"))?))))
                    .collect::<Result<_>>()?,
            };
            layers.push(layer);
        }
        // A frozen embedding that is not also the LM head is only ever gathered
        // from, so it stays in host memory (see `embed`).
        let embed = need("model.embed_tokens.weight")?;
        let embed = if method != Method::Full && !config.tie_word_embeddings {
            embed.to_device(Device::Cpu).to_kind(kind).detach()
        } else {
            side(embed)
        };
        let norm = side(need("model.norm.weight")?);
        let lm_head = if config.tie_word_embeddings {
            source("lm_head.weight")?;
            None
        } else {
            Some(side(need("lm_head.weight")?))
        };
        let inv_freqs = match (arch, source(ROPE_FREQS)?) {
            (Architecture::Gemma3, None) => [false, true]
                .iter()
                .map(|&sliding| {
                    let (theta, factor) = config.layer_rope(sliding).map_err(anyhow::Error::msg)?;
                    Ok((inv_freq(theta, config.head_dim()) / factor).to_device(device))
                })
                .collect::<Result<Vec<_>>>()?,
            (Architecture::Gemma3, Some(_)) => bail!("a Gemma 3 model has no `{ROPE_FREQS}`"),
            (Architecture::Llama, None) => vec![rope_inv_freq(&config).to_device(device)],
            (Architecture::Llama, Some(divisors)) => {
                let inv = rope_inv_freq(&config);
                if config.scaling().is_some() || divisors.size() != inv.size() {
                    bail!(
                        "`{ROPE_FREQS}` of shape {:?} cannot scale RoPE here (expected [{}] and no `rope_scaling` in the config)",
                        divisors.size(),
                        inv.size()[0]
                    );
                }
                vec![(inv / divisors.to_kind(Kind::Float)).to_device(device)]
            }
        };
        let embed_scale = (arch == Architecture::Gemma3)
            .then(|| gemma3::embed_scale(config.hidden_size, kind, device));
        Ok(Self {
            config,
            arch,
            method,
            kind,
            device,
            embed,
            layers,
            norm,
            lm_head,
            inv_freqs,
            embed_scale,
            mlp_piece_values: MLP_CHUNK_VALUES,
            loss_rows: None,
        })
    }

    /// Cut the MLP into pieces of at most `values` intermediate values instead of
    /// [`MLP_CHUNK_VALUES`] (smaller pieces: lower peak memory, more kernel launches).
    pub fn set_mlp_piece_values(&mut self, values: i64) {
        self.mlp_piece_values = values.max(1);
    }

    /// Run the training loss's softmax over `tokens` and one constant zero logit
    /// (recipe `loss_vocabulary = "corpus"`): the head's other rows take no part in
    /// it. With `zero_others` (a model trained from scratch) those rows are set to
    /// zero, so that at inference every token the training never showed has logit
    /// exactly 0, the level the zero logit taught the trained tokens to rise above.
    /// A label outside `tokens` is ignored by the training loss. Evaluation keeps
    /// the full softmax.
    pub fn restrict_loss_vocabulary(&mut self, tokens: &[i64], zero_others: bool) -> Result<()> {
        let mut ids = tokens.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if let Some(&bad) = ids
            .iter()
            .find(|&&t| !(0..self.config.vocab_size).contains(&t))
        {
            bail!(
                "token {bad} is outside the vocabulary of {}",
                self.config.vocab_size
            );
        }
        let ids = Tensor::from_slice(&ids).to_device(self.device);
        let position = Tensor::full(
            [self.config.vocab_size],
            IGNORE_INDEX,
            (Kind::Int64, self.device),
        )
        .index_put(
            &[Some(ids.shallow_clone())],
            &Tensor::arange(ids.size()[0], (Kind::Int64, self.device)),
            false,
        );
        if zero_others {
            let head = self.lm_head.as_ref().unwrap_or(&self.embed);
            let keep = position.ne(IGNORE_INDEX).unsqueeze(1).to_kind(head.kind());
            tch::no_grad(|| {
                let _ = head.shallow_clone().g_mul_(&keep.to_device(head.device()));
            });
        }
        self.loss_rows = Some(LossRows { ids, position });
        Ok(())
    }

    /// What every layer of a forward pass over `b` sequences of `t` positions
    /// shares: per RoPE table, `(cos, sin)` `[t, head_dim]` in the compute dtype as
    /// HF computes them; the sliding-window mask, when a layer needs one.
    fn positions(&self, b: i64, t: i64) -> Positions {
        let pos = Tensor::arange(t, (Kind::Float, self.device));
        let rope = self
            .inv_freqs
            .iter()
            .map(|inv| {
                let freqs = inv.unsqueeze(1).matmul(&pos.unsqueeze(0)).tr();
                let emb = Tensor::cat(&[&freqs, &freqs], -1);
                (emb.cos().to_kind(self.kind), emb.sin().to_kind(self.kind))
            })
            .collect();
        let sliding_mask = if self.layers.iter().any(|l| l.sliding) {
            gemma3::sliding_window_mask(b, t, self.config.sliding_window(), self.device)
        } else {
            None
        };
        Positions { rope, sliding_mask }
    }

    /// The norm of the model's architecture: Llama's RMSNorm or Gemma's.
    fn normed(&self, x: &Tensor, weight: &Tensor) -> Tensor {
        match self.arch {
            Architecture::Llama => rms_norm(x, weight, self.config.rms_norm_eps),
            Architecture::Gemma3 => gemma3::rms_norm(x, weight, self.config.rms_norm_eps),
        }
    }

    /// `y` through the layer's norm of `role` when it has one (Gemma's extra norms).
    fn normed_if(&self, layer: &DecoderLayer, role: Norm, y: Tensor) -> Tensor {
        match layer.norm(role) {
            Some(w) => self.normed(&y, w),
            None => y,
        }
    }

    /// A layer's norm weight of a role every architecture has.
    fn norm_of(layer: &DecoderLayer, role: Norm) -> &Tensor {
        layer
            .norm(role)
            .expect("every architecture's layer has an input and an MLP norm")
    }

    fn layer_forward(
        &self,
        layer: &DecoderLayer,
        x: &Tensor,
        pos: &Positions,
        train: bool,
    ) -> Tensor {
        let mid = self.attention_half(layer, x, pos, train);
        let weights = Self::mlp_weights(layer, mid.kind());
        let pieces: Vec<Tensor> = self
            .mlp_pieces(&mid)
            .iter()
            .map(|rows| self.mlp_half(layer, &weights, rows, train))
            .collect();
        Tensor::cat(&pieces, 0).view(mid.size().as_slice())
    }

    /// `x` plus self-attention of its norm.
    fn attention_half(
        &self,
        layer: &DecoderLayer,
        x: &Tensor,
        pos: &Positions,
        train: bool,
    ) -> Tensor {
        let (b, t) = (x.size()[0], x.size()[1]);
        let (nh, nkv, hd) = (
            self.config.num_attention_heads,
            self.config.kv_heads(),
            self.config.head_dim(),
        );
        let h = self.normed(x, Self::norm_of(layer, Norm::Input));
        let heads = |y: Tensor, n: i64| y.view([b, t, n, hd]).transpose(1, 2);
        let (cos, sin) = &pos.rope[layer.rope];
        let roped = |y: Tensor| &y * cos + rotate_half(&y) * sin;
        let q = heads(layer.q.forward(&h, train), nh);
        let k = heads(layer.k.forward(&h, train), nkv);
        let v = heads(layer.v.forward(&h, train), nkv);
        let q = roped(self.normed_if(layer, Norm::Query, q));
        let k = roped(self.normed_if(layer, Norm::Key, k));
        let mask = pos.sliding_mask.as_ref().filter(|_| layer.sliding);
        let attn = attention(&q, &k, &v, mask, self.config.attention_scale());
        let attn = attn.transpose(1, 2).reshape([b, t, nh * hd]);
        x + self.normed_if(layer, Norm::AttentionOut, layer.o.forward(&attn, train))
    }

    /// The MLP's three base weights, materialized once in `kind`.
    fn mlp_weights(layer: &DecoderLayer, kind: Kind) -> [Tensor; 3] {
        [&layer.gate, &layer.up, &layer.down].map(|l| l.base.materialize(kind))
    }

    /// `mid` (`[b, t, hidden]`) flattened to token rows and cut into the MLP's pieces.
    fn mlp_pieces(&self, mid: &Tensor) -> Vec<Tensor> {
        let rows = mid.reshape([-1, self.config.hidden_size]);
        let n = rows.size()[0];
        let piece = (self.mlp_piece_values / self.config.intermediate_size).max(1);
        (0..n)
            .step_by(piece as usize)
            .map(|s| rows.narrow(0, s, piece.min(n - s)))
            .collect()
    }

    /// `rows` plus the gated MLP of their norm (SiLU; Gemma: tanh-GELU, and the output
    /// normed), with `weights` from [`CausalLm::mlp_weights`].
    fn mlp_half(
        &self,
        layer: &DecoderLayer,
        weights: &[Tensor; 3],
        rows: &Tensor,
        train: bool,
    ) -> Tensor {
        let [gate, up, down] = weights;
        let h = self.normed(rows, Self::norm_of(layer, Norm::PreMlp));
        let g = layer.gate.forward_with(&h, gate, train);
        let g = match self.arch {
            Architecture::Llama => g.silu(),
            Architecture::Gemma3 => gemma3::gelu_tanh(&g),
        };
        let act = g * layer.up.forward_with(&h, up, train);
        rows + self.normed_if(
            layer,
            Norm::MlpOut,
            layer.down.forward_with(&act, down, train),
        )
    }

    /// Back-propagates `grad` (the layer output's gradient) through a recomputed
    /// layer, half by half and the MLP piece by piece (see the module docs);
    /// returns the gradient of the layer's input.
    fn layer_backward(
        &self,
        layer: &DecoderLayer,
        input: &Tensor,
        grad: &Tensor,
        pos: &Positions,
        train: bool,
    ) -> Tensor {
        let input = input.detach().set_requires_grad(true);
        let mid = self.attention_half(layer, &input, pos, train);
        let mid_leaf = mid.detach().set_requires_grad(true);
        let weights = Self::mlp_weights(layer, mid.kind());
        let grads = self.mlp_pieces(grad);
        for (rows, g) in self.mlp_pieces(&mid_leaf).iter().zip(&grads) {
            (self.mlp_half(layer, &weights, rows, train) * g)
                .sum(Kind::Float)
                .backward();
        }
        drop(weights);
        (mid * mid_leaf.grad()).sum(Kind::Float).backward();
        input.grad()
    }

    /// The input embeddings of `ids`, on the model's device. A table held in host
    /// memory (frozen and untied: LoRA and QLoRA on Llama 3) is gathered there and
    /// only the gathered rows travel, which keeps it off the GPU: 1 GiB at 8B. The
    /// gather reads `host_ids` (the same ids in host memory, as [`Batch::from_host`]
    /// keeps them), so the GPU's ids are never copied back (that copy would wait
    /// for the stream); the gathered rows go up through [`upload`] (page-locked,
    /// non-blocking). Without `host_ids` the ids are read back (a sync).
    fn embed(&self, ids: &Tensor, host_ids: Option<&Tensor>) -> Tensor {
        let table = self.embed.to_kind(self.kind);
        let rows = if table.device() == self.device {
            Tensor::embedding(&table, &ids.to_device(self.device), -1, false, false)
        } else {
            let host_ids = match host_ids {
                Some(h) => h.to_device(table.device()),
                None => ids.to_device(table.device()),
            };
            upload(
                &Tensor::embedding(&table, &host_ids, -1, false, false),
                self.device,
            )
        };
        match &self.embed_scale {
            Some(scale) => rows * scale,
            None => rows,
        }
    }

    fn head_weight(&self) -> Tensor {
        self.lm_head
            .as_ref()
            .unwrap_or(&self.embed)
            .to_kind(self.kind)
    }

    fn seed_layer(dropout_seed: Option<i64>, layer: usize) {
        if let Some(seed) = dropout_seed {
            tch::manual_seed(seed.wrapping_mul(1_000_003).wrapping_add(layer as i64));
        }
    }

    /// Final hidden states `[b, t, hidden]` (after the last norm); no autograd.
    pub fn hidden_states(&self, ids: &Tensor) -> Tensor {
        let host_ids = (ids.device() == Device::Cpu).then_some(ids);
        self.hidden_states_with(ids, host_ids)
    }

    /// [`CausalLm::hidden_states`] with the ids also in host memory (`host_ids`), for
    /// a host-resident embedding table (see [`CausalLm::embed`]).
    fn hidden_states_with(&self, ids: &Tensor, host_ids: Option<&Tensor>) -> Tensor {
        tch::no_grad(|| {
            let pos = self.positions(ids.size()[0], ids.size()[1]);
            let mut x = self.embed(ids, host_ids);
            for layer in &self.layers {
                x = self.layer_forward(layer, &x, &pos, false);
            }
            self.normed(&x, &self.norm)
        })
    }

    /// Logits `[b, t, vocab]` in f32; no autograd, no dropout.
    pub fn logits(&self, ids: &Tensor) -> Tensor {
        tch::no_grad(|| {
            self.hidden_states(ids)
                .matmul(&self.head_weight().tr())
                .to_kind(Kind::Float)
        })
    }

    /// Row indices into the flattened `[b * t]` hidden states that predict a label,
    /// and those labels (the next position's label: HF's shift). `nonzero` makes
    /// the host wait for `labels` (on a GPU: for every kernel queued before it).
    fn labelled_rows(labels: &Tensor) -> (Tensor, Tensor) {
        let (b, t) = (labels.size()[0], labels.size()[1]);
        let pad = Tensor::full([b, 1], IGNORE_INDEX, (Kind::Int64, labels.device()));
        let next = Tensor::cat(&[&labels.narrow(1, 1, t - 1), &pad], 1).reshape([b * t]);
        let rows = next.ne(IGNORE_INDEX).nonzero().squeeze_dim(1);
        let targets = next.index_select(0, &rows);
        (rows, targets)
    }

    /// Chunks of labelled rows whose logits hold at most [`HEAD_CHUNK_LOGITS`]
    /// values: `(rows, targets)` each, on the model's device. The rows are found in
    /// the batch's host labels when it has them ([`Batch::host_labels`]: no sync,
    /// the rows and targets go up through [`upload`]), else in its device labels
    /// (a sync: on a GPU the host then waits for the whole forward pass).
    fn head_chunks(&self, batch: &Batch) -> Vec<(Tensor, Tensor)> {
        let (rows, targets) = match batch.host_labels() {
            Some(labels) => {
                let (rows, targets) = Self::labelled_rows(labels);
                (upload(&rows, self.device), upload(&targets, self.device))
            }
            None => Self::labelled_rows(&batch.labels),
        };
        let m = rows.size()[0];
        let chunk = (HEAD_CHUNK_LOGITS / self.config.vocab_size).max(1);
        (0..m)
            .step_by(chunk as usize)
            .map(|s| {
                let len = chunk.min(m - s);
                (rows.narrow(0, s, len), targets.narrow(0, s, len))
            })
            .collect()
    }

    /// Summed cross-entropy of one chunk of rows, f32 logits; when `training` with
    /// a restricted vocabulary, over its tokens and a constant zero logit.
    fn chunk_loss(&self, h: &Tensor, y: &Tensor, training: bool) -> Tensor {
        let head = self.head_weight();
        let (logits, y) = match (&self.loss_rows, training) {
            (Some(rows), true) => {
                let logits = h.matmul(&head.index_select(0, &rows.ids).tr());
                let zero = Tensor::zeros([logits.size()[0], 1], (logits.kind(), logits.device()));
                (
                    Tensor::cat(&[logits, zero], 1),
                    rows.position.index_select(0, y),
                )
            }
            _ => (h.matmul(&head.tr()), y.shallow_clone()),
        };
        logits.to_kind(Kind::Float).cross_entropy_loss::<Tensor>(
            &y,
            None,
            tch::Reduction::Sum,
            IGNORE_INDEX,
            0.0,
        )
    }

    /// Loss over a batch without gradients (evaluation).
    pub fn eval_loss(&self, batch: &Batch) -> LossSum {
        tch::no_grad(|| {
            let hidden = self.hidden_states_with(&batch.input_ids, batch.host_input_ids());
            let flat = hidden.reshape([-1, self.config.hidden_size]);
            let mut sum = Tensor::zeros([], (Kind::Double, flat.device()));
            let mut m = 0;
            for (rows, targets) in self.head_chunks(batch) {
                sum += self
                    .chunk_loss(&flat.index_select(0, &rows), &targets, false)
                    .to_kind(Kind::Double);
                m += rows.size()[0];
            }
            LossSum {
                loss_sum: sum.double_value(&[]),
                tokens: m,
            }
        })
    }

    /// One training forward + backward: gradients of `loss_weight * sum(CE)` are
    /// accumulated into the trainable tensors' `.grad`. `dropout_seed` (None = no
    /// dropout) seeds each layer's LoRA dropout; `checkpointing` recomputes layers.
    /// Reads the loss at the end ([`CausalLm::forward_backward_queued`] leaves that to
    /// the caller).
    pub fn forward_backward(
        &self,
        batch: &Batch,
        loss_weight: f64,
        dropout_seed: Option<i64>,
        checkpointing: bool,
    ) -> Result<LossSum> {
        Ok(self
            .forward_backward_queued(batch, loss_weight, dropout_seed, checkpointing)?
            .read())
    }

    /// [`CausalLm::forward_backward`] without reading anything back from the device
    /// when `batch` has its host copy ([`Batch::from_host`]): on a GPU the host
    /// queues the whole forward and backward without waiting, and the loss comes
    /// back as a [`PendingLoss`] to be read once the rest of the step is queued.
    pub fn forward_backward_queued(
        &self,
        batch: &Batch,
        loss_weight: f64,
        dropout_seed: Option<i64>,
        checkpointing: bool,
    ) -> Result<PendingLoss> {
        let train = dropout_seed.is_some();
        let t = batch.input_ids.size()[1];
        if t < 2 {
            bail!("a training sequence needs at least 2 tokens");
        }
        let pos = self.positions(batch.input_ids.size()[0], t);
        let embed_trainable = self.embed.requires_grad();
        // 1. the decoder stack: with autograd, or under no_grad keeping inputs.
        let x0 = if embed_trainable && !checkpointing {
            self.embed(&batch.input_ids, batch.host_input_ids())
        } else {
            tch::no_grad(|| self.embed(&batch.input_ids, batch.host_input_ids()))
        };
        let mut saved: Vec<Tensor> = Vec::new();
        let top = if checkpointing {
            let mut x = x0.shallow_clone();
            tch::no_grad(|| {
                for (i, layer) in self.layers.iter().enumerate() {
                    Self::seed_layer(dropout_seed, i);
                    let next = self.layer_forward(layer, &x, &pos, train);
                    saved.push(std::mem::replace(&mut x, next));
                }
            });
            x.detach().set_requires_grad(true)
        } else {
            let mut x = x0.shallow_clone();
            for (i, layer) in self.layers.iter().enumerate() {
                Self::seed_layer(dropout_seed, i);
                x = self.layer_forward(layer, &x, &pos, train);
            }
            x
        };
        // 2. the head, in chunks, each back-propagated into a detached normed leaf.
        let normed = self.normed(&top, &self.norm);
        let leaf = normed.detach().set_requires_grad(true);
        let flat = leaf.reshape([-1, self.config.hidden_size]);
        // The chunks' losses are summed on the device; the sum is left there (read by
        // the caller, after the backward below is queued: no sync per chunk or step).
        let mut loss_total = Tensor::zeros([], (Kind::Double, flat.device()));
        let mut m = 0;
        for (rows, targets) in self.head_chunks(batch) {
            let loss = self.chunk_loss(&flat.index_select(0, &rows), &targets, true);
            loss_total += loss.detach().to_kind(Kind::Double);
            (loss * loss_weight).backward();
            m += rows.size()[0];
        }
        // `m` is known on the host: no chunk, no loss and no gradient
        if m == 0 {
            return Ok(PendingLoss {
                sum: None,
                tokens: 0,
            });
        }
        let loss_sum = PendingLoss {
            sum: Some(loss_total),
            tokens: m,
        };
        (&normed * leaf.grad()).sum(Kind::Float).backward();
        // 3. without checkpointing autograd already reached every leaf.
        if !checkpointing {
            return Ok(loss_sum);
        }
        let mut grad = top.grad();
        for (i, layer) in self.layers.iter().enumerate().rev() {
            Self::seed_layer(dropout_seed, i);
            grad = self.layer_backward(layer, &saved[i], &grad, &pos, train);
            saved.pop();
        }
        if embed_trainable {
            (self.embed(&batch.input_ids, batch.host_input_ids()) * grad)
                .sum(Kind::Float)
                .backward();
        }
        Ok(loss_sum)
    }

    /// The trainable tensors with their names: peft names for adapters
    /// (`base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`), HF names
    /// for full fine-tuning.
    pub fn trainable(&self) -> Vec<(String, Tensor)> {
        match self.method {
            Method::Full => self.base_weights(),
            _ => self.adapters(),
        }
    }

    /// The adapters under peft's key names (empty for full fine-tuning).
    pub fn adapters(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (l, layer) in self.layers.iter().enumerate() {
            for (module, proj, lin) in layer.projections() {
                if let Some(pair) = &lin.lora {
                    let p = format!("base_model.model.model.layers.{l}.{module}.{proj}");
                    out.push((format!("{p}.lora_A.weight"), pair.a.shallow_clone()));
                    out.push((format!("{p}.lora_B.weight"), pair.b.shallow_clone()));
                }
            }
        }
        out
    }

    /// Replace the adapters with tensors named as peft names them.
    pub fn load_adapters(
        &mut self,
        mut tensors: HashMap<String, Tensor>,
        lora: &LoraSettings,
    ) -> Result<()> {
        let device = self.device;
        for (l, layer) in self.layers.iter_mut().enumerate() {
            for (module, proj, lin) in layer.projections_mut() {
                if lin.lora.is_none() {
                    continue;
                }
                let p = format!("base_model.model.model.layers.{l}.{module}.{proj}");
                let a = take(&mut tensors, &format!("{p}.lora_A.weight"))?;
                let b = take(&mut tensors, &format!("{p}.lora_B.weight"))?;
                let shape = lin.base.shape();
                if a.size() != [lora.r, shape[1]] || b.size() != [shape[0], lora.r] {
                    bail!(
                        "adapter `{p}` has shapes {:?} / {:?}, expected [{}, {}] / [{}, {}]",
                        a.size(),
                        b.size(),
                        lora.r,
                        shape[1],
                        shape[0],
                        lora.r
                    );
                }
                lin.lora = Some(LoraPair::from_tensors(
                    a.to_device(device),
                    b.to_device(device),
                    lora,
                ));
            }
        }
        if let Some(extra) = tensors.keys().next() {
            bail!("the adapter file has a tensor this model has no place for: `{extra}`");
        }
        Ok(())
    }

    /// Dense weights under HF names (the whole model for full fine-tuning; the
    /// 16-bit side weights otherwise).
    pub fn base_weights(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![(
            "model.embed_tokens.weight".to_string(),
            self.embed.shallow_clone(),
        )];
        for (l, layer) in self.layers.iter().enumerate() {
            let p = format!("model.layers.{l}");
            for (module, proj, lin) in layer.projections() {
                if let BaseWeight::Dense(w) = &lin.base {
                    out.push((format!("{p}.{module}.{proj}.weight"), w.shallow_clone()));
                }
            }
            for ((name, _), (_, w)) in layer_norms(self.arch).iter().zip(&layer.norms) {
                out.push((format!("{p}.{name}.weight"), w.shallow_clone()));
            }
        }
        out.push(("model.norm.weight".to_string(), self.norm.shallow_clone()));
        if let Some(h) = &self.lm_head {
            out.push(("lm_head.weight".to_string(), h.shallow_clone()));
        }
        out
    }

    /// Bytes of every tensor the model keeps: the base weights (NF4 storage or
    /// dense), norms, embeddings, head and adapters.
    pub fn storage_bytes(&self) -> usize {
        let bytes = |(_, t): &(String, Tensor)| t.numel() * t.kind().elt_size_in_bytes();
        let nf4: usize = self
            .layers
            .iter()
            .flat_map(|layer| layer.projections())
            .map(|(_, _, lin)| match &lin.base {
                BaseWeight::Nf4(q) => q.storage_bytes(),
                BaseWeight::Dense(_) => 0,
            })
            .sum();
        nf4 + self.base_weights().iter().map(bytes).sum::<usize>()
            + self.adapters().iter().map(bytes).sum::<usize>()
    }

    /// Overwrite the full model's weights in place (resume of full fine-tuning).
    pub fn load_base_weights(&mut self, mut tensors: HashMap<String, Tensor>) -> Result<()> {
        tch::no_grad(|| -> Result<()> {
            for (name, mut dst) in self.base_weights() {
                let src = take(&mut tensors, &name)?;
                if src.size() != dst.size() {
                    bail!(
                        "tensor `{name}` has shape {:?}, expected {:?}",
                        src.size(),
                        dst.size()
                    );
                }
                dst.copy_(&src.to_device(self.device).to_kind(dst.kind()));
            }
            Ok(())
        })
    }

    /// Greedy decoding without a KV cache (small models, tests and quick checks):
    /// appends up to `max_new` tokens, stopping after any of `stop`.
    pub fn generate_greedy(&self, prompt: &[i64], max_new: usize, stop: &[i64]) -> Vec<i64> {
        let mut ids = prompt.to_vec();
        let mut out = Vec::new();
        for _ in 0..max_new {
            let host = Tensor::from_slice(&ids).unsqueeze(0);
            let hidden = self.hidden_states_with(&upload(&host, self.device), Some(&host));
            let last = hidden.select(1, -1);
            let next = tch::no_grad(|| last.matmul(&self.head_weight().tr()).argmax(-1, false))
                .int64_value(&[0]);
            out.push(next);
            ids.push(next);
            if stop.contains(&next) {
                break;
            }
        }
        out
    }
}

/// HF's default inverse RoPE frequencies `1 / theta^(2i / dim)`, f32.
fn inv_freq(theta: f64, dim: i64) -> Tensor {
    let exponents = Tensor::arange_start_step(0, dim, 2, (Kind::Int64, Device::Cpu))
        .to_kind(Kind::Float)
        / dim as f64;
    Tensor::pow_scalar(theta, &exponents).reciprocal()
}

/// HF's inverse RoPE frequencies of a Llama (with Llama 3.1 `llama3` scaling when
/// configured), f32.
fn rope_inv_freq(config: &HfConfig) -> Tensor {
    let inv = inv_freq(config.theta(), config.head_dim());
    let Some(s) = config.scaling() else {
        return inv;
    };
    let low_wavelen = s.original_max_position_embeddings / s.low_freq_factor;
    let high_wavelen = s.original_max_position_embeddings / s.high_freq_factor;
    let wavelen = inv.reciprocal() * (2.0 * std::f64::consts::PI);
    let scaled = inv.where_self(&wavelen.le(low_wavelen), &(&inv / s.factor));
    let smooth = (wavelen.reciprocal() * s.original_max_position_embeddings - s.low_freq_factor)
        / (s.high_freq_factor - s.low_freq_factor);
    let smoothed = (smooth.ones_like() - &smooth) * &scaled / s.factor + &smooth * &scaled;
    let medium = wavelen
        .ge(high_wavelen)
        .logical_and(&wavelen.le(low_wavelen));
    smoothed.where_self(&medium, &scaled)
}
