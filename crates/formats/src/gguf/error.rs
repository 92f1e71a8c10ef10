//! The error every GGUF parse or layout check returns: what is wrong and where.

/// A malformed or unsupported GGUF file (or writer input), located by byte offset
/// when the problem comes from file bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", offset.map(|o| format!("at byte {o}: ")).unwrap_or_default())]
pub struct GgufError {
    /// Byte offset of the offending field in the file, when there is one.
    pub offset: Option<u64>,
    /// What is wrong, naming the key, tensor or field.
    pub message: String,
}

impl GgufError {
    /// An error about the bytes at `offset`.
    pub fn at(offset: usize, message: impl Into<String>) -> Self {
        Self {
            offset: Some(offset as u64),
            message: message.into(),
        }
    }

    /// An error not tied to a file position (e.g. a bad tensor handed to the writer).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            offset: None,
            message: message.into(),
        }
    }
}
