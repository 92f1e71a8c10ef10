//! Native CPU inference for GGUF Llama models: kernels, model graph, KV cache,
//! sampling, generation with prefix reuse, teacher-forced loss.

pub mod bench;
pub mod config;
pub mod kernels;
pub mod kv_cache;
pub mod loader;
pub mod model;
pub mod ops;
pub mod rng;
pub mod rope;
pub mod sampler;
pub mod session;
pub mod tiny;
pub mod vocab;
pub mod weights;

#[cfg(test)]
mod tests;
