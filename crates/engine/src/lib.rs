//! Native CPU inference for GGUF Llama and Gemma 3 models: kernels, model graph, KV
//! cache, sampling, generation with prefix reuse, teacher-forced loss.
//!
//! - [`loader`] opens a GGUF ([`okla_formats::gguf`]) and uses the weights in place from the
//!   memory map; [`okla_text::gguf_vocab`] turns `tokenizer.ggml.*` into a `tokenizers` tokenizer;
//!   [`model_file`] writes a Llama model as a GGUF llama.cpp loads.
//! - [`model`] is the transformer graph (RMSNorm, RoPE with Llama 3 theta and `rope_freqs`,
//!   grouped-query attention over the f16 [`kv_cache`], SwiGLU, tied or separate output),
//!   batched for prefill, with what [`arch`] says Gemma 3 changes (scaled embeddings,
//!   Q/K and sandwich norms, NEOX RoPE per layer, sliding-window attention, GeGLU); [`kernels`] are its dot products (scalar and AVX2, activations
//!   quantized like llama.cpp's), threaded with rayon.
//! - [`session`] runs prompts with prefix reuse and computes teacher-forced NLL;
//!   [`sampler`] picks tokens (greedy, or repetition penalty + temperature + top-p);
//!   [`grammar`] constrains them to a JSON Schema (llguidance token masks).
//! - [`tiny`] makes seeded test models; [`bench`] measures pp/tg speed.
//!
//! Determinism: results never depend on the thread count. Like llama.cpp they do
//! depend on how tokens are batched (see Parity), so a prompt gives the same logits
//! as in llama.cpp when it is run the same way: prompt chunks of [`model::PREFILL_CHUNK`],
//! then one token per step.
//!
//! # Parity with llama.cpp
//!
//! The engine computes what ggml's CPU backend computes for a Llama model, bit for
//! bit, as llama-cpp-python 0.3.36 runs it on x86-64 with AVX-512 (its defaults:
//! flash attention off, f16 KV cache): `tests/engine_parity.rs` checks 20
//! prompts × 64 greedy tokens on two `okla-eval gguf tiny` models (dim 256 / 2 layers
//! and dim 512 / 8 layers, Q4_K_M) against `tests/data/engine/parity_*.json` from
//! `scripts/reference/parity_reference.py`: 20/20 identical continuations, max logit
//! difference 0. What that takes, each matching one ggml choice:
//!
//! - activations quantized to Q8_K exactly like `quantize_row_q8_K_ref`
//!   (`nearest_int`, `iscale = −127/max`; ggml's 4-row `quantize_mat_q8_K_4x8` only
//!   differs when `+max` and `−max` both occur in a block), f16 by round-to-even;
//! - Q4_K weights are repacked by ggml (`q4_K_8x8`): a row computed alone (GEMV: one
//!   token, or the last `n % 4` tokens of a batch) folds its integer sums into floats
//!   once per 256 weights, a row of a group of four (GEMM) once per 64 weights
//!   ([`kernels::vec_dot_in`]);
//! - Q6_K follows `ggml_vec_dot_q6_K_q8_K` (AVX2: 8 integer lanes, 8 FMA
//!   accumulators, `hsum_float_8`), or for batches of 8+ rows ggml's tiled K-quant
//!   matmul (one `fma(Σ·d, da, acc)` per super-block) ([`kernels::Batching`]);
//! - attention without flash attention: Q rounded to f16, K·Q and P·V summed in the
//!   lane order of tinyBLAS (batches of 2+ tokens) or `ggml_vec_dot_f16` (one token),
//!   softmax with `ggml_v_expf` ([`ops::ggml_expf`]), an f64 sum of 16-wide chunks and
//!   probabilities rounded to f16;
//! - RoPE in normal mode with `theta *= powf(base, −2/n_dims)` in f32 and the FMAs GCC
//!   contracts the rotation into; SiLU as `x / (1 + ggml_v_expf(−x))`;
//! - RMSNorm with an f64 sum; the last layer's feed-forward runs only on the rows
//!   whose logits are wanted (llama.cpp's `inp_out_ids`), which decides their kernel.
//!
//! Other CPUs (AVX2 only, ARM) make ggml pick other kernels and orders; the engine
//! then stays within rounding of llama.cpp but not bit-exact.

#![warn(missing_docs)]

pub mod arch;
pub mod bench;
pub mod grammar;
pub mod kernels;
pub mod kv_cache;
pub mod loader;
pub mod lora;
pub mod model;
pub mod model_file;
pub mod ops;
pub mod rope;
pub mod sampler;
pub mod session;
pub mod tiny;
pub mod weights;

#[cfg(test)]
mod tests;
