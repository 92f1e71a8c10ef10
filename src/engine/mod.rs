//! Native CPU inference for GGUF Llama models: kernels, model graph, KV cache,
//! sampling, generation with prefix reuse, teacher-forced loss.
//!
//! - [`loader`] opens a GGUF ([`crate::gguf`]) and uses the weights in place from the
//!   memory map; [`vocab`] turns `tokenizer.ggml.*` into a `tokenizers` tokenizer.
//! - [`model`] is the Llama graph (RMSNorm, RoPE with Llama 3 theta and `rope_freqs`,
//!   grouped-query attention over the f16 [`kv_cache`], SwiGLU, tied or separate output),
//!   batched for prefill; [`kernels`] are its dot products (scalar and AVX2, activations
//!   quantized like llama.cpp's), threaded with rayon.
//! - [`session`] runs prompts with prefix reuse and computes teacher-forced NLL;
//!   [`sampler`] picks tokens (greedy, or repetition penalty + temperature + top-p).
//! - [`tiny`] makes seeded test models; [`bench`] measures pp/tg speed.
//!
//! Determinism: every output element is one dot product computed the same way
//! whatever the batch, chunk or thread count, so results never depend on how the
//! work was split or which prefix was reused.

pub mod bench;
pub mod config;
pub mod kernels;
pub mod kv_cache;
pub mod loader;
pub mod model;
pub mod ops;
pub mod rope;
pub mod sampler;
pub mod session;
pub mod tiny;
pub mod vocab;
pub mod weights;

#[cfg(test)]
mod tests;
