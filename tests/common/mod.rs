//! Shared test fixtures: tiny GGUF models written once per target folder.

use std::path::{Path, PathBuf};

use okla_eval::engine::tiny::TinySpec;
use okla_eval::gguf::FileType;

/// The GGUF `okla-eval gguf tiny --seed 1` writes (default shape, Q4_K_M), cached
/// under the cargo target folder.
pub fn tiny_q4_k_m() -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("engine-tiny-seed1-q4_k_m.gguf");
    if !path.exists() {
        TinySpec::default()
            .write_gguf(&path, FileType::Q4KM)
            .unwrap();
    }
    path
}
