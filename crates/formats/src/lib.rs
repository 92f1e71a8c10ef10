//! okla-formats: the bottom layer of okla-eval. Everything here reads or writes bytes
//! and depends on no other okla crate:
//!
//! - [`quant`]: the ggml quantization codecs, bit-exact with llama.cpp;
//! - [`gguf`]: the GGUF file format (reader, writer, metadata, llama-quantize's recipe);
//! - [`llama_config`], [`gemma3_config`]: a Llama or Gemma 3 model's shape as GGUF metadata holds it;
//! - [`hf`]: Hugging Face folders (config.json, safetensors, peft adapters);
//! - [`atomic`]: files written whole or not at all; [`hash`]: content hashes;
//! - [`mapped`]: file mappings that give their pages back once read;
//! - [`text_file`]: a user's text file read as UTF-8, bad bytes located by line;
//! - [`error`]: [`error::InputError`], the located user-input error every layer reports;
//! - [`rng`]: the one seeded PRNG; [`choice`]: named choices a command line offers;
//! - [`progress`]: how long work reports progress (library code never prints).

#![warn(missing_docs)]

pub mod atomic;
pub mod choice;
pub mod clock;
pub mod error;
pub mod gemma3_config;
pub mod gguf;
pub mod hash;
pub mod hf;
pub mod llama_config;
pub mod mapped;
pub mod progress;
pub mod quant;
pub mod rng;
pub mod text_file;
