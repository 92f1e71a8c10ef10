//! Native CPU inference for GGUF Llama models: kernels, model graph, KV cache,
//! sampling, generation with prefix reuse, teacher-forced loss.

pub mod kernels;
