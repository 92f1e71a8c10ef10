//! The GGUF file format: a memory-mapped, fully validated reader
//! ([`GgufFile`]), a streaming atomic writer ([`GgufWriter`]), metadata values
//! with typed getters ([`Metadata`]), the ggml tensor types ([`GgmlType`]),
//! the `gguf inspect` renderings ([`inspect`]), llama-quantize's tensor-type
//! recipe ([`plan`]) and whole-file re-quantization ([`quantize`]), and the Llama
//! tensor names and Q/K row permutation between Hugging Face and llama.cpp ([`llama_names`];
//! Gemma 3's names and norm shift: [`gemma3_names`]).

mod decode;
mod encode;
mod error;
pub mod gemma3_names;
mod ggml_type;
pub mod inspect;
pub mod llama_names;
mod metadata;
pub mod quantize;
mod reader;
mod recipe;
mod restamp;
mod tensor;
mod value;
mod writer;

pub use error::GgufError;
pub use ggml_type::GgmlType;
pub use metadata::{Metadata, MetadataError};
pub use reader::{GgufFile, GgufLayout, ALIGNMENT_KEY, DEFAULT_ALIGNMENT};
pub use recipe::{effective_dims, llama_order, plan, FileType, ModelFacts};
pub use restamp::restamp;
pub use tensor::{tensor_n_bytes, TensorInfo, TensorSpec, MAX_DIMS, MAX_NAME_BYTES};
pub use value::{Array, Value, ValueType};
pub use writer::{GgufWriter, WRITE_VERSION};
