//! Writing GGUF v3 files in one streaming pass: header, metadata and tensor infos
//! first, then each tensor's data supplied by a callback, padded to the alignment.
//! Files go through a temp file in the destination folder and a rename
//! ([`crate::atomic`]), so a reader never sees a half-written model.

use std::io::{self, Write};
use std::path::Path;

use super::encode::{write_string, write_value};
use super::error::GgufError;
use super::metadata::Metadata;
use super::reader::{ALIGNMENT_KEY, DEFAULT_ALIGNMENT, MAGIC};
use super::tensor::{check_specs, TensorSpec};
use super::value::Value;
use crate::atomic::write_atomic_with;

/// The version this writer produces.
pub const WRITE_VERSION: u32 = 3;

/// A GGUF file to write: metadata and tensor descriptions, with data streamed in later.
#[derive(Debug, Clone)]
pub struct GgufWriter {
    metadata: Metadata,
    tensors: Vec<TensorSpec>,
    n_bytes: Vec<u64>,
    alignment: u64,
}

impl GgufWriter {
    /// A writer for `metadata` and `tensors` (in file order). Fails on an empty key,
    /// an invalid shape, a duplicate name, or a `general.alignment` that is not a u32
    /// power of two.
    pub fn new(metadata: Metadata, tensors: Vec<TensorSpec>) -> Result<Self, GgufError> {
        if metadata.iter().any(|(k, _)| k.is_empty()) {
            return Err(GgufError::new("a metadata key is empty"));
        }
        let alignment = match metadata.get(ALIGNMENT_KEY) {
            None => DEFAULT_ALIGNMENT,
            Some(Value::U32(a)) if a.is_power_of_two() => u64::from(*a),
            Some(other) => {
                return Err(GgufError::new(format!(
                    "`{ALIGNMENT_KEY}` must be a u32 power of two, found {} {other:?}",
                    other.type_label()
                )))
            }
        };
        let n_bytes = check_specs(&tensors)?;
        n_bytes
            .iter()
            .try_fold(0u64, |total, &n| {
                n.checked_next_multiple_of(alignment)
                    .and_then(|n| total.checked_add(n))
            })
            .ok_or_else(|| GgufError::new("the tensors' total size overflows u64"))?;
        Ok(Self {
            metadata,
            tensors,
            n_bytes,
            alignment,
        })
    }

    /// The tensors, in the order their data must be supplied.
    pub fn tensors(&self) -> &[TensorSpec] {
        &self.tensors
    }

    /// Bytes of data tensor `i` must receive.
    pub fn tensor_n_bytes(&self, i: usize) -> u64 {
        self.n_bytes[i]
    }

    /// Write the file to `path` atomically. `fill(i, w)` must write exactly
    /// [`GgufWriter::tensor_n_bytes`]`(i)` bytes of tensor `i`'s data; it is called once per
    /// tensor, in order, so only one tensor's data needs to exist at a time.
    pub fn write_file(
        &self,
        path: &Path,
        mut fill: impl FnMut(usize, &mut dyn Write) -> io::Result<()>,
    ) -> anyhow::Result<()> {
        write_atomic_with(path, |w| self.write_to(w, &mut fill))
    }

    /// Stream the whole file into `w` (see [`GgufWriter::write_file`] for `fill`).
    pub fn write_to(
        &self,
        w: &mut dyn Write,
        fill: &mut dyn FnMut(usize, &mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut out = CountingWriter {
            inner: w,
            written: 0,
        };
        self.write_header(&mut out)?;
        pad(&mut out, self.alignment)?;
        for (i, spec) in self.tensors.iter().enumerate() {
            let before = out.written;
            fill(i, &mut out)?;
            let wrote = out.written - before;
            if wrote != self.n_bytes[i] {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "tensor `{}`: {wrote} bytes of data supplied, {} expected",
                        spec.name, self.n_bytes[i]
                    ),
                ));
            }
            pad(&mut out, self.alignment)?;
        }
        Ok(())
    }

    fn write_header(&self, w: &mut dyn Write) -> io::Result<()> {
        w.write_all(MAGIC)?;
        w.write_all(&WRITE_VERSION.to_le_bytes())?;
        w.write_all(&(self.tensors.len() as u64).to_le_bytes())?;
        w.write_all(&(self.metadata.len() as u64).to_le_bytes())?;
        for (key, value) in self.metadata.iter() {
            write_string(w, key)?;
            w.write_all(&(value.value_type() as u32).to_le_bytes())?;
            write_value(w, value)?;
        }
        let mut offset = 0u64;
        for (spec, &n_bytes) in self.tensors.iter().zip(&self.n_bytes) {
            write_string(w, &spec.name)?;
            w.write_all(&(spec.dims.len() as u32).to_le_bytes())?;
            for d in &spec.dims {
                w.write_all(&d.to_le_bytes())?;
            }
            w.write_all(&(spec.ggml_type as u32).to_le_bytes())?;
            w.write_all(&offset.to_le_bytes())?;
            offset += n_bytes.next_multiple_of(self.alignment);
        }
        Ok(())
    }
}

/// Pass-through writer that counts bytes (for padding and size checks).
struct CountingWriter<'a> {
    inner: &'a mut dyn Write,
    written: u64,
}

impl Write for CountingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn pad(w: &mut CountingWriter<'_>, alignment: u64) -> io::Result<()> {
    const ZEROS: [u8; 64] = [0; 64];
    let mut left = w.written.next_multiple_of(alignment) - w.written;
    while left > 0 {
        let n = left.min(ZEROS.len() as u64) as usize;
        w.write_all(&ZEROS[..n])?;
        left -= n as u64;
    }
    Ok(())
}
