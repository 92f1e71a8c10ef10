//! Write the llama-quantize reference input (the test fixture `TinyLlama` of
//! tests/common/tiny_llama.rs, default shape) to the path given: the shared input of
//! scripts/reference/llama_quantize_vectors.py.
//!
//! usage: cargo run --example tiny_llama -- OUT.gguf

#[path = "../tests/common/tiny_llama.rs"]
mod tiny_llama;

fn main() -> anyhow::Result<()> {
    let out = std::env::args_os()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: tiny_llama OUT.gguf"))?;
    tiny_llama::TinyLlama::default().write(std::path::Path::new(&out))
}
