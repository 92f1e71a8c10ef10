//! Reading GGUF files: parse and validate the header, metadata and tensor infos
//! of a memory-mapped file; tensor data stays in the mapping and is handed out
//! as borrowed byte slices (the engine uses weights in place).

use std::collections::HashSet;
use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::decode::Cursor;
use super::error::GgufError;
use super::ggml_type::GgmlType;
use super::metadata::Metadata;
use super::tensor::{tensor_n_bytes, TensorInfo, MAX_DIMS, MAX_NAME_BYTES};
use super::value::Value;
use crate::error::InputError;

/// The four magic bytes every GGUF file starts with.
pub const MAGIC: &[u8; 4] = b"GGUF";
/// The metadata key that sets the data alignment.
pub const ALIGNMENT_KEY: &str = "general.alignment";
/// Data alignment when the file does not set [`ALIGNMENT_KEY`].
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// Smallest encoded key-value pair: key length (8), a 1-byte key, value type (4), a 1-byte value.
const MIN_KV_BYTES: u64 = 8 + 1 + 4 + 1;
/// Smallest encoded tensor info: name length (8), dimension count (4), type (4), offset (8).
const MIN_TENSOR_INFO_BYTES: u64 = 8 + 4 + 4 + 8;

/// Everything a GGUF file says about itself, validated against the file's bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufLayout {
    /// Format version (2 or 3).
    pub version: u32,
    /// Metadata in file order.
    pub metadata: Metadata,
    /// Tensor infos in file order; every data range lies inside the file.
    pub tensors: Vec<TensorInfo>,
    /// Data alignment in bytes (a power of two).
    pub alignment: u64,
    /// Absolute offset of the data section.
    pub data_offset: u64,
    /// Size of the parsed file in bytes.
    pub file_len: u64,
}

impl GgufLayout {
    /// Parse and validate the GGUF file held in `bytes` (reads no tensor data).
    pub fn parse(bytes: &[u8]) -> Result<Self, GgufError> {
        let mut c = Cursor::new(bytes);
        let magic = c.take(4, "the magic bytes")?;
        if magic != MAGIC {
            return Err(GgufError::at(
                0,
                format!("not a GGUF file: it starts with {magic:02x?}, not \"GGUF\""),
            ));
        }
        let version = c.u32("the version")?;
        match version {
            2 | 3 => {}
            1 => {
                return Err(GgufError::at(
                    4,
                    "GGUF version 1 is not supported (only 2 and 3)",
                ))
            }
            v if v & 0xffff == 0 => {
                return Err(GgufError::at(4, "big-endian GGUF files are not supported"))
            }
            v => {
                return Err(GgufError::at(
                    4,
                    format!("unsupported GGUF version {v} (only 2 and 3)"),
                ))
            }
        }
        let n_tensors = c.u64("the tensor count")?;
        let n_kv = c.u64("the metadata count")?;
        c.check_count(n_kv, MIN_KV_BYTES, "the metadata count")?;
        let metadata = read_metadata(&mut c, n_kv)?;
        let alignment = alignment_of(&metadata)?;
        c.check_count(n_tensors, MIN_TENSOR_INFO_BYTES, "the tensor count")?;
        let infos = read_tensor_infos(&mut c, n_tensors, alignment)?;
        let data_offset = (c.pos() as u64).next_multiple_of(alignment);
        let file_len = bytes.len() as u64;
        let tensors = place_tensors(infos, data_offset, file_len)?;
        Ok(Self {
            version,
            metadata,
            tensors,
            alignment,
            data_offset,
            file_len,
        })
    }

    /// The tensor named `name`.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }
}

fn read_metadata(c: &mut Cursor<'_>, n_kv: u64) -> Result<Metadata, GgufError> {
    let mut metadata = Metadata::new();
    let mut seen = HashSet::new();
    for i in 0..n_kv {
        let at = c.pos();
        let key = c.string(&format!("metadata key #{i}"))?;
        if key.is_empty() {
            return Err(GgufError::at(at, format!("metadata key #{i} is empty")));
        }
        if !seen.insert(key.clone()) {
            return Err(GgufError::at(at, format!("duplicate metadata key `{key}`")));
        }
        let what = format!("metadata key `{key}`");
        let ty = c.value_type(&what)?;
        let value = c.value(ty, &what, 0)?;
        metadata.push_unchecked(key, value);
    }
    Ok(metadata)
}

fn alignment_of(metadata: &Metadata) -> Result<u64, GgufError> {
    match metadata.get(ALIGNMENT_KEY) {
        None => Ok(DEFAULT_ALIGNMENT),
        Some(Value::U32(a)) if a.is_power_of_two() => Ok(u64::from(*a)),
        Some(Value::U32(a)) => Err(GgufError::new(format!(
            "`{ALIGNMENT_KEY}` is {a}, not a power of two"
        ))),
        Some(other) => Err(GgufError::new(format!(
            "`{ALIGNMENT_KEY}` must be u32, found {}",
            other.type_label()
        ))),
    }
}

/// A tensor info as read, before its data range is checked against the file.
struct RawTensorInfo {
    at: usize,
    name: String,
    ggml_type: GgmlType,
    dims: Vec<u64>,
    offset: u64,
    n_bytes: u64,
}

fn read_tensor_infos(
    c: &mut Cursor<'_>,
    n_tensors: u64,
    alignment: u64,
) -> Result<Vec<RawTensorInfo>, GgufError> {
    let mut seen = HashSet::new();
    let mut infos = Vec::new();
    for i in 0..n_tensors {
        let at = c.pos();
        let name = c.string(&format!("the name of tensor #{i}"))?;
        if name.len() > MAX_NAME_BYTES {
            return Err(GgufError::at(
                at,
                format!(
                    "tensor #{i} name is {} bytes long, the limit is {MAX_NAME_BYTES}",
                    name.len()
                ),
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(GgufError::at(at, format!("duplicate tensor name `{name}`")));
        }
        let what = format!("tensor `{name}`");
        let n_dims_at = c.pos();
        let n_dims = c.u32(&what)?;
        if n_dims as usize > MAX_DIMS {
            return Err(GgufError::at(
                n_dims_at,
                format!("{what} has {n_dims} dimensions, the limit is {MAX_DIMS}"),
            ));
        }
        let dims = (0..n_dims)
            .map(|_| c.u64(&what))
            .collect::<Result<Vec<_>, _>>()?;
        let type_at = c.pos();
        let type_id = c.u32(&what)?;
        let ggml_type = GgmlType::from_id(type_id).ok_or_else(|| {
            GgufError::at(
                type_at,
                format!("{what} has unknown ggml type id {type_id}"),
            )
        })?;
        let n_bytes = tensor_n_bytes(&name, ggml_type, &dims).map_err(|m| GgufError::at(at, m))?;
        let offset_at = c.pos();
        let offset = c.u64(&what)?;
        if offset % alignment != 0 {
            return Err(GgufError::at(
                offset_at,
                format!(
                    "{what} data offset {offset} is not a multiple of the alignment {alignment}"
                ),
            ));
        }
        infos.push(RawTensorInfo {
            at,
            name,
            ggml_type,
            dims,
            offset,
            n_bytes,
        });
    }
    Ok(infos)
}

fn place_tensors(
    infos: Vec<RawTensorInfo>,
    data_offset: u64,
    file_len: u64,
) -> Result<Vec<TensorInfo>, GgufError> {
    infos
        .into_iter()
        .map(|t| {
            let end = data_offset
                .checked_add(t.offset)
                .and_then(|start| start.checked_add(t.n_bytes));
            match end {
                Some(end) if end <= file_len => Ok(TensorInfo {
                    file_offset: data_offset + t.offset,
                    name: t.name,
                    ggml_type: t.ggml_type,
                    dims: t.dims,
                    offset: t.offset,
                    n_bytes: t.n_bytes,
                }),
                _ => Err(GgufError::at(
                    t.at,
                    format!(
                        "tensor `{}` data ({} bytes at data offset {}) runs past the end of the file ({file_len} bytes, data section at {data_offset})",
                        t.name, t.n_bytes, t.offset
                    ),
                )),
            }
        })
        .collect()
}

/// A GGUF file opened read-only through a memory map.
#[derive(Debug)]
pub struct GgufFile {
    path: PathBuf,
    map: Mmap,
    layout: GgufLayout,
}

impl GgufFile {
    /// Open, map and validate `path`. Any problem with the file is an
    /// [`InputError`] naming the file (exit code 2 in the CLI).
    pub fn open(path: impl AsRef<Path>) -> anyhow::Result<Self> {
        let path = path.as_ref();
        let file = File::open(path)
            .map_err(|e| InputError::file(path, format!("cannot open GGUF file: {e}")))?;
        // SAFETY: the mapping is read-only; like every mmap reader we rely on the file not
        // being truncated while it is mapped.
        let map = unsafe { Mmap::map(&file) }
            .map_err(|e| InputError::file(path, format!("cannot memory-map GGUF file: {e}")))?;
        let layout = GgufLayout::parse(&map)
            .map_err(|e| InputError::file(path, format!("invalid GGUF: {e}")))?;
        Ok(Self {
            path: path.to_path_buf(),
            map,
            layout,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The validated header, metadata and tensor table.
    pub fn layout(&self) -> &GgufLayout {
        &self.layout
    }

    /// The metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.layout.metadata
    }

    /// The tensor infos in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.layout.tensors
    }

    /// The tensor named `name`.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.layout.tensor(name)
    }

    /// The data of `tensor`, borrowed from the mapping. `tensor` must come from
    /// this file's [`GgufFile::tensors`] (their ranges were checked at open).
    pub fn tensor_data(&self, tensor: &TensorInfo) -> &[u8] {
        &self.map[data_range(tensor)]
    }

    /// Give back the resident pages of `tensor`'s data once it has been read
    /// (see [`crate::mapped`]); a later [`GgufFile::tensor_data`] reads it again.
    pub fn release(&self, tensor: &TensorInfo) {
        crate::mapped::release_pages(&self.map, data_range(tensor));
    }

    /// The whole file.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }
}

fn data_range(t: &TensorInfo) -> Range<usize> {
    t.file_offset as usize..(t.file_offset + t.n_bytes) as usize
}
