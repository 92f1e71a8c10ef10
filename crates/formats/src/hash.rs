//! Content hashes as the run folder and GGUF metadata record them.

/// Lowercase hex of a byte string (a sha256 digest, say).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
