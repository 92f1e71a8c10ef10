//! Safetensors weights of a model folder (`model.safetensors`, or the shards listed
//! in `model.safetensors.index.json`), memory-mapped and read one tensor at a time
//! (as stored, or converted to f32), each tensor's pages given back once read, so a
//! model larger than RAM streams with about one tensor resident.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, ensure, Context, Result};
use memmap2::Mmap;
use safetensors::SafeTensors;

pub use safetensors::Dtype;

use crate::error::InputError;
use crate::mapped::release_pages;

/// The safetensors files of a model folder: `model.safetensors`, or every shard
/// named by `model.safetensors.index.json` (sorted, each once).
pub fn weight_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let index = dir.join("model.safetensors.index.json");
    if !index.exists() {
        return Ok(vec![dir.join("model.safetensors")]);
    }
    let text = std::fs::read_to_string(&index)
        .map_err(|e| InputError::file(&index, format!("cannot read: {e}")))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| InputError::at(&index, e.line(), None, e.to_string()))?;
    let map = v
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| InputError::file(&index, "missing object").with_field("weight_map"))?;
    let mut files: Vec<&str> = map.values().filter_map(|s| s.as_str()).collect();
    files.sort_unstable();
    files.dedup();
    Ok(files.iter().map(|f| dir.join(f)).collect())
}

/// One memory-mapped safetensors file.
struct Shard {
    path: PathBuf,
    map: Mmap,
}

/// Where one tensor lies: its file, element type, shape and byte range in the map.
struct TensorLocation {
    shard: usize,
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Range<usize>,
}

/// The tensors of one or more safetensors files, by name (each file's header is
/// parsed once, when opened).
pub struct SafetensorsWeights {
    shards: Vec<Shard>,
    index: BTreeMap<String, TensorLocation>,
}

impl SafetensorsWeights {
    /// Opens the [`weight_files`] of a model folder.
    pub fn open_folder(dir: &Path) -> Result<Self> {
        Self::open_files(&weight_files(dir)?)
    }

    /// Opens the given safetensors files (tensor names must not repeat across them).
    pub fn open_files(paths: &[PathBuf]) -> Result<Self> {
        let mut shards = Vec::new();
        let mut index = BTreeMap::new();
        for path in paths {
            let file = std::fs::File::open(path)
                .map_err(|e| InputError::file(path, format!("cannot open: {e}")))?;
            // SAFETY: the file is opened read-only and not modified while mapped.
            let map = unsafe { Mmap::map(&file) }
                .with_context(|| format!("cannot map {}", path.display()))?;
            let st = SafeTensors::deserialize(&map)
                .map_err(|e| InputError::file(path, format!("not a safetensors file: {e}")))?;
            for (name, view) in st.tensors() {
                let start = view.data().as_ptr() as usize - map.as_ptr() as usize;
                let location = TensorLocation {
                    shard: shards.len(),
                    dtype: view.dtype(),
                    shape: view.shape().to_vec(),
                    bytes: start..start + view.data().len(),
                };
                if index.insert(name.clone(), location).is_some() {
                    return Err(InputError::file(
                        path,
                        format!("tensor `{name}` appears in two files"),
                    )
                    .into());
                }
            }
            shards.push(Shard {
                path: path.clone(),
                map,
            });
        }
        Ok(Self { shards, index })
    }

    /// Every tensor name with its shape (row-major, outermost first), sorted by name.
    pub fn shapes(&self) -> impl Iterator<Item = (&str, &[usize])> {
        self.index
            .iter()
            .map(|(n, t)| (n.as_str(), t.shape.as_slice()))
    }

    /// Whether a tensor of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// Where the tensor `name` lies.
    fn location(&self, name: &str) -> Result<&TensorLocation> {
        self.index
            .get(name)
            .ok_or_else(|| anyhow!("the weights have no tensor `{name}`"))
    }

    /// The tensor `name` as stored, borrowed from its shard's mapping.
    fn raw<'a>(&'a self, name: &'a str, t: &'a TensorLocation) -> RawTensor<'a> {
        let shard = &self.shards[t.shard];
        RawTensor {
            name,
            path: &shard.path,
            dtype: t.dtype,
            shape: &t.shape,
            data: &shard.map[t.bytes.clone()],
        }
    }

    /// Calls `read` with the tensor `name` as stored, then gives its pages back.
    pub fn with_raw<R>(
        &self,
        name: &str,
        read: impl FnOnce(RawTensor<'_>) -> Result<R>,
    ) -> Result<R> {
        let t = self.location(name)?;
        let out = read(self.raw(name, t));
        release_pages(&self.shards[t.shard].map, t.bytes.clone());
        out
    }

    /// The tensor `name` converted to f32 (from F32, F16 or BF16), with its shape.
    pub fn f32(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>)> {
        let shape = self.location(name)?.shape.clone();
        let data = self.f32_rows(name, 0..row_count(&shape))?;
        Ok((shape, data))
    }

    /// Rows `rows` of the tensor `name` (a row: its innermost dimension, as GGUF
    /// counts rows; a vector is one row), converted to f32 (from F32, F16 or BF16).
    /// Only those rows' pages are read, and they are given back before this returns,
    /// so a large tensor streams a slice at a time.
    pub fn f32_rows(&self, name: &str, rows: Range<usize>) -> Result<Vec<f32>> {
        let t = self.location(name)?;
        let (width, decode): (usize, fn(&[u8]) -> f32) = match t.dtype {
            Dtype::F32 => (4, |b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            Dtype::F16 => (2, |b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()),
            Dtype::BF16 => (2, |b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32()),
            _ => return Err(self.raw(name, t).unsupported()),
        };
        let row_bytes = t.shape.last().copied().unwrap_or(1) * width;
        let n_rows = row_count(&t.shape);
        ensure!(
            rows.start <= rows.end && rows.end <= n_rows,
            "rows {rows:?} of tensor `{name}`, which has {n_rows}"
        );
        let bytes = t.bytes.start + rows.start * row_bytes..t.bytes.start + rows.end * row_bytes;
        let map = &self.shards[t.shard].map;
        let data = map[bytes.clone()].chunks_exact(width).map(decode).collect();
        release_pages(map, bytes);
        Ok(data)
    }
}

/// Rows of a tensor of `shape` (outermost first): every dimension but the innermost.
fn row_count(shape: &[usize]) -> usize {
    shape.iter().rev().skip(1).product()
}

/// One tensor as stored in its file, borrowed from the mapping.
#[derive(Debug, Clone, Copy)]
pub struct RawTensor<'a> {
    /// Its name.
    pub name: &'a str,
    /// The file it is in.
    pub path: &'a Path,
    /// Element type.
    pub dtype: Dtype,
    /// Shape, outermost first.
    pub shape: &'a [usize],
    /// Little-endian element bytes.
    pub data: &'a [u8],
}

impl RawTensor<'_> {
    /// The input error for a dtype the reader does not take (F32, F16, BF16 only),
    /// naming the file and the tensor.
    pub fn unsupported(&self) -> anyhow::Error {
        InputError::file(
            self.path,
            format!(
                "tensor `{}` has dtype {:?}; F32, F16 and BF16 are read",
                self.name, self.dtype
            ),
        )
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use safetensors::tensor::TensorView;

    fn write(path: &Path, tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) {
        let views: Vec<(String, TensorView)> = tensors
            .iter()
            .map(|(n, d, s, b)| (n.to_string(), TensorView::new(*d, s.clone(), b).unwrap()))
            .collect();
        safetensors::serialize_to_file(views, None, path).unwrap();
    }

    #[test]
    fn reads_f32_f16_and_bf16_and_rejects_a_duplicate_name() {
        let dir = tempfile::tempdir().unwrap();
        let vals = [1.5f32, -2.0, 0.25, 3.0];
        let f32b: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let f16b: Vec<u8> = vals
            .iter()
            .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
            .collect();
        let bf16b: Vec<u8> = vals
            .iter()
            .flat_map(|v| half::bf16::from_f32(*v).to_le_bytes())
            .collect();
        let a = dir.path().join("a.safetensors");
        let b = dir.path().join("b.safetensors");
        write(
            &a,
            &[
                ("x", Dtype::F32, vec![2, 2], f32b.clone()),
                ("y", Dtype::F16, vec![4], f16b),
            ],
        );
        write(&b, &[("z", Dtype::BF16, vec![1, 4], bf16b)]);
        let w = SafetensorsWeights::open_files(&[a.clone(), b]).unwrap();
        for name in ["x", "y", "z"] {
            assert_eq!(w.f32(name).unwrap().1, vals, "{name}");
        }
        assert_eq!(w.f32("x").unwrap().0, vec![2, 2]);
        assert!(w.f32("missing").is_err());
        // rows are along the innermost dimension; a vector is one row
        assert_eq!(w.f32_rows("x", 1..2).unwrap(), vals[2..]);
        assert_eq!(w.f32_rows("z", 0..1).unwrap(), vals);
        assert_eq!(w.f32_rows("y", 0..1).unwrap(), vals);
        assert!(w.f32_rows("x", 1..3).is_err());
        let dup = dir.path().join("dup.safetensors");
        write(&dup, &[("x", Dtype::F32, vec![4], f32b)]);
        let err = SafetensorsWeights::open_files(&[a, dup]).err().unwrap();
        assert!(
            format!("{err:#}").contains("appears in two files"),
            "{err:#}"
        );
    }
}
