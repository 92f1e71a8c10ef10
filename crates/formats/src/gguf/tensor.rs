//! Tensor descriptions (name, type, shape) and the shape rules both the reader
//! and the writer enforce.

use super::error::GgufError;
use super::ggml_type::GgmlType;

/// Most dimensions a ggml tensor has.
pub const MAX_DIMS: usize = 4;
/// Longest tensor name ggml accepts, in bytes (`GGML_MAX_NAME` - 1).
pub const MAX_NAME_BYTES: usize = 63;

/// A tensor to write: name, type and dimensions in ggml order (innermost first,
/// so a matrix of `rows` × `cols` is `[cols, rows]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    /// Tensor name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Element type.
    pub ggml_type: GgmlType,
    /// Dimensions, innermost first.
    pub dims: Vec<u64>,
}

impl TensorSpec {
    /// A tensor description.
    pub fn new(name: impl Into<String>, ggml_type: GgmlType, dims: Vec<u64>) -> Self {
        Self {
            name: name.into(),
            ggml_type,
            dims,
        }
    }

    /// Bytes of data, after checking name length, dimension count, block alignment
    /// of the first dimension and overflow.
    pub fn checked_n_bytes(&self) -> Result<u64, String> {
        if self.name.len() > MAX_NAME_BYTES {
            return Err(format!(
                "tensor name `{}` is {} bytes long, the limit is {MAX_NAME_BYTES}",
                self.name,
                self.name.len()
            ));
        }
        tensor_n_bytes(&self.name, self.ggml_type, &self.dims)
    }
}

/// A tensor as found in a file: its description plus where its data lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// Tensor name.
    pub name: String,
    /// Element type.
    pub ggml_type: GgmlType,
    /// Dimensions, innermost first (as many as the file lists, 0 to 4).
    pub dims: Vec<u64>,
    /// Offset of the data from the start of the data section (as stored).
    pub offset: u64,
    /// Absolute byte offset of the data in the file.
    pub file_offset: u64,
    /// Bytes of data.
    pub n_bytes: u64,
}

impl TensorInfo {
    /// Number of elements (product of the dimensions).
    pub fn n_elements(&self) -> u64 {
        // Checked against overflow when the file was parsed.
        self.dims.iter().product()
    }

    /// Elements per row (the first dimension; 1 for a scalar).
    pub fn row_len(&self) -> u64 {
        self.dims.first().copied().unwrap_or(1)
    }

    /// Number of rows (elements / row length; 0 for an empty tensor).
    pub fn n_rows(&self) -> u64 {
        self.dims.iter().skip(1).product()
    }

    /// The description of this tensor, for writing it elsewhere.
    pub fn spec(&self) -> TensorSpec {
        TensorSpec::new(self.name.clone(), self.ggml_type, self.dims.clone())
    }
}

/// Bytes of a tensor of `ggml_type` with `dims`, or why the shape is invalid:
/// more than [`MAX_DIMS`] dimensions, a dimension above `i64::MAX`, an element
/// count that overflows, or a first dimension that is not a whole number of blocks.
pub fn tensor_n_bytes(name: &str, ggml_type: GgmlType, dims: &[u64]) -> Result<u64, String> {
    if dims.len() > MAX_DIMS {
        return Err(format!(
            "tensor `{name}` has {} dimensions, the limit is {MAX_DIMS}",
            dims.len()
        ));
    }
    let mut n: u64 = 1;
    for (i, &d) in dims.iter().enumerate() {
        if d > i64::MAX as u64 {
            return Err(format!(
                "tensor `{name}` dimension {i} is {d}, above i64::MAX"
            ));
        }
        n = n
            .checked_mul(d)
            .filter(|&n| n <= i64::MAX as u64)
            .ok_or_else(|| format!("tensor `{name}` shape {dims:?} overflows the element count"))?;
    }
    let row = dims.first().copied().unwrap_or(1);
    let block = ggml_type.block_size();
    if row % block != 0 {
        return Err(format!(
            "tensor `{name}` of type {ggml_type} has {row} elements per row, not a multiple of its block size {block}"
        ));
    }
    (n / block)
        .checked_mul(ggml_type.type_size())
        .ok_or_else(|| format!("tensor `{name}` shape {dims:?} overflows its byte size"))
}

/// Check a tensor list for the writer: valid shapes and unique names. Returns each tensor's byte size.
pub fn check_specs(specs: &[TensorSpec]) -> Result<Vec<u64>, GgufError> {
    let mut seen = std::collections::HashSet::new();
    specs
        .iter()
        .map(|s| {
            if !seen.insert(s.name.as_str()) {
                return Err(GgufError::new(format!(
                    "duplicate tensor name `{}`",
                    s.name
                )));
            }
            s.checked_n_bytes().map_err(GgufError::new)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_rules_reject_what_ggml_rejects() {
        assert_eq!(
            tensor_n_bytes("t", GgmlType::Q4_K, &[512, 3]),
            Ok(2 * 3 * 144)
        );
        assert_eq!(tensor_n_bytes("s", GgmlType::F32, &[]), Ok(4));
        assert_eq!(tensor_n_bytes("z", GgmlType::F32, &[0, 5]), Ok(0));
        let e = tensor_n_bytes("t", GgmlType::Q4_K, &[640, 1]).unwrap_err();
        assert!(
            e.contains("640 elements per row, not a multiple of its block size 256"),
            "{e}"
        );
        assert!(tensor_n_bytes("t", GgmlType::F32, &[1, 1, 1, 1, 1]).is_err());
        assert!(tensor_n_bytes("t", GgmlType::F32, &[1 << 40, 1 << 40]).is_err());
        assert!(tensor_n_bytes("t", GgmlType::F64, &[1 << 62]).is_err());
        let long = TensorSpec::new("x".repeat(64), GgmlType::F32, vec![1]);
        assert!(long
            .checked_n_bytes()
            .unwrap_err()
            .contains("64 bytes long"));
    }

    #[test]
    fn duplicate_names_are_rejected() {
        let a = TensorSpec::new("a", GgmlType::F32, vec![2]);
        let err = check_specs(&[a.clone(), a]).unwrap_err();
        assert_eq!(err.to_string(), "duplicate tensor name `a`");
    }
}
