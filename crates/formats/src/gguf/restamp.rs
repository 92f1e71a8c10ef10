//! Restamping: a finished GGUF copied with more metadata, its tensors untouched.

use std::path::Path;

use anyhow::{Context, Result};

use super::{GgufFile, GgufWriter, TensorSpec, Value};

/// Copies the GGUF at `src` to `dst` (atomically) with `extra` metadata keys added
/// or replaced; every tensor's type and bytes stay exactly as they were.
pub fn restamp(src: &Path, dst: &Path, extra: &[(String, Value)]) -> Result<()> {
    let file = GgufFile::open(src)?;
    let mut metadata = file.metadata().clone();
    for (k, v) in extra {
        metadata.insert(k.clone(), v.clone());
    }
    let tensors = file.tensors().to_vec();
    let specs: Vec<TensorSpec> = tensors
        .iter()
        .map(|t| TensorSpec::new(t.name.clone(), t.ggml_type, t.dims.clone()))
        .collect();
    GgufWriter::new(metadata, specs)?
        .write_file(dst, |i, w| w.write_all(file.tensor_data(&tensors[i])))
        .with_context(|| format!("cannot write {}", dst.display()))
}
