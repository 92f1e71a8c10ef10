//! okla-export: a trained model (a full model folder, or a LoRA adapter merged into its
//! base in f32) written as a complete Llama or Gemma 3 GGUF, quantized by llama-quantize's
//! recipe, then gated with the native engine on the suite's eval split; only a
//! passing file reaches its destination, stamped with the verdict, the suite hash
//! and the run id. An adapter can also be written as a GGUF LoRA for its GGUF base
//! ([`lora_file`]), gated with the engine applying it at run time.

#![warn(missing_docs)]

pub mod gemma3;
pub mod lora_file;
pub mod run;
pub mod source;
