//! Hugging Face model folders read without libtorch: `config.json` (the Llama
//! hyper-parameters), safetensors weights (single file or shards with an index)
//! and peft LoRA adapters, so that export works in the default build.

pub mod config;
pub mod peft;
pub mod weights;
