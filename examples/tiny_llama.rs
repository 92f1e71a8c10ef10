//! Write the default synthetic llama model (`okla_formats::gguf::synthetic::TinyLlama`)
//! to the path given: the shared input of scripts/reference/llama_quantize_vectors.py.
//!
//! usage: cargo run --example tiny_llama -- OUT.gguf

fn main() -> anyhow::Result<()> {
    let out = std::env::args_os()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: tiny_llama OUT.gguf"))?;
    okla_formats::gguf::synthetic::TinyLlama::default().write(std::path::Path::new(&out))
}
