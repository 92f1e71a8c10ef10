//! Fuzz the GGUF reader: any bytes must parse or fail with an error, never panic,
//! and every tensor range of a file that parses must lie inside the input.
//! Run: `cargo +nightly fuzz run gguf_reader` (seed corpus: any .gguf files).

#![no_main]

use libfuzzer_sys::fuzz_target;
use okla_formats::gguf::{inspect, GgufLayout};

fuzz_target!(|data: &[u8]| {
    if let Ok(layout) = GgufLayout::parse(data) {
        for t in &layout.tensors {
            let end = t.file_offset + t.n_bytes;
            assert!(end <= data.len() as u64, "tensor {} out of bounds", t.name);
        }
        let _ = inspect::render_text(&layout);
        let _ = inspect::render_json(&layout);
    }
});
