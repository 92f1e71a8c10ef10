//! okla-train: the QLoRA trainer (the binary's feature `train`, libtorch through tch): NF4 storage with
//! double quantization, LoRA adapters in peft's layout, a Llama or Gemma 3 model with
//! layer-wise gradient checkpointing, AdamW (f32 and 8-bit blockwise), a warmup +
//! cosine schedule, atomic checkpoints with exact resume, and the training loop.

#![warn(missing_docs)]

pub mod adapter;
pub mod base_model;
pub mod checkpoint;
pub use okla_formats::hf::config;
pub mod data;
pub mod dynamic;
pub mod gemma3;
pub mod gguf_model;
pub mod gpu;
pub mod lora;
pub mod loss_scale;
pub mod metrics;
pub mod model;
pub mod nf4;
pub mod optim;
pub mod recipe;
pub mod schedule;
pub mod trainer;
pub mod weight_source;
