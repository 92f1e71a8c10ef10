//! Hugging Face model folders for tests: bf16 safetensors shards with their index,
//! config.json and the Llama 3 tokenizer files, written one tensor at a time.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// A safetensors file of bf16 tensors with small pseudo-random values, written one
/// tensor at a time (the writer never holds more than one).
fn write_bf16_shard(path: &Path, tensors: &[(String, Vec<i64>)], seed: &mut u64) {
    let mut header = BTreeMap::new();
    let mut offset = 0usize;
    for (name, shape) in tensors {
        let bytes = 2 * shape.iter().product::<i64>() as usize;
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + bytes]}),
        );
        offset += bytes;
    }
    let mut json = serde_json::to_string(&header).unwrap();
    while json.len() % 8 != 0 {
        json.push(' ');
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    out.write_all(&(json.len() as u64).to_le_bytes()).unwrap();
    out.write_all(json.as_bytes()).unwrap();
    for (_, shape) in tensors {
        let n = shape.iter().product::<i64>() as usize;
        let mut bytes = Vec::with_capacity(2 * n);
        for _ in 0..n {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let unit = (*seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            let bits = ((unit * 0.04).to_bits() >> 16) as u16;
            bytes.extend_from_slice(&bits.to_le_bytes());
        }
        out.write_all(&bytes).unwrap();
    }
    out.flush().unwrap();
}

/// `tensors` (HF names and shapes, outermost first) as a Hugging Face folder in `dir`:
/// `shards` bf16 safetensors files, their index, `config` as config.json and the
/// Llama 3 tokenizer files. Returns the bf16 bytes.
pub fn write_sharded_folder(
    dir: &Path,
    config: &serde_json::Value,
    tensors: &[(String, Vec<i64>)],
    shards: usize,
) -> u64 {
    std::fs::create_dir_all(dir).unwrap();
    let total: u64 = tensors
        .iter()
        .map(|(_, s)| 2 * s.iter().product::<i64>() as u64)
        .sum();
    let per = tensors.len().div_ceil(shards);
    let mut weight_map = BTreeMap::new();
    let mut seed = 7u64;
    for (k, chunk) in tensors.chunks(per).enumerate() {
        let file = format!("model-{:05}-of-{shards:05}.safetensors", k + 1);
        write_bf16_shard(&dir.join(&file), chunk, &mut seed);
        for (name, _) in chunk {
            weight_map.insert(name.clone(), file.clone());
        }
    }
    let index = serde_json::json!({"metadata": {"total_size": total}, "weight_map": weight_map});
    std::fs::write(
        dir.join("model.safetensors.index.json"),
        serde_json::to_string_pretty(&index).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_string_pretty(config).unwrap(),
    )
    .unwrap();
    for f in ["tokenizer.json", "tokenizer_config.json"] {
        std::fs::copy(
            format!("{}/models/llama3/{f}", env!("CARGO_MANIFEST_DIR")),
            dir.join(f),
        )
        .unwrap();
    }
    total
}
