//! The real Gemma 3 270M Q4_K_M file (assembled by scripts/setup/gemma.sh) parses
//! completely, and every tensor's name, type, shape, offset and bytes match
//! gguf-py's reading of it (tests/data/gguf/gemma3_270m_q4_k_m.tsv, made by
//! scripts/reference/gemma_reference.py), and our dequantizers give gguf-py's float32
//! values for every tensor. Skips with a printed reason when the file is absent.

mod common;

use okla_formats::gguf::GgufFile;
use sha2::{Digest, Sha256};

/// One row of the gguf-py reference table.
struct Reference {
    name: String,
    ggml_type: String,
    shape: Vec<u64>,
    offset: u64,
    n_bytes: u64,
    sha256_raw: String,
    sha256_f32: String,
}

fn reference() -> Vec<Reference> {
    let text = include_str!("data/gguf/gemma3_270m_q4_k_m.tsv");
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            Reference {
                name: f[0].to_string(),
                ggml_type: f[1].to_string(),
                shape: f[2].split(',').map(|d| d.parse().unwrap()).collect(),
                offset: f[3].parse().unwrap(),
                n_bytes: f[4].parse().unwrap(),
                sha256_raw: f[5].to_string(),
                sha256_f32: f[6].to_string(),
            }
        })
        .collect()
}

#[test]
fn gemma_parses_completely_and_matches_gguf_py() {
    let Some(path) = common::gemma_q4_k_m() else {
        return;
    };
    let file = GgufFile::open(&path).unwrap();
    let md = file.metadata();
    assert_eq!(md.str("general.architecture").unwrap(), "gemma3");
    assert_eq!(md.u32("gemma3.block_count").unwrap(), 18);
    assert_eq!(
        md.str_array("tokenizer.ggml.tokens").unwrap().len(),
        262_144
    );
    assert_eq!(
        md.f32_array("tokenizer.ggml.scores").unwrap().len(),
        262_144
    );
    assert_eq!(
        md.i32_array("tokenizer.ggml.token_type").unwrap().len(),
        262_144
    );
    assert_eq!(md.u32("general.file_type").unwrap(), 15);

    let expected = reference();
    assert_eq!(file.tensors().len(), expected.len());
    for (t, r) in file.tensors().iter().zip(&expected) {
        assert_eq!(t.name, r.name);
        assert_eq!(t.ggml_type.name(), r.ggml_type, "{}", t.name);
        assert_eq!(t.dims, r.shape, "{}", t.name);
        assert_eq!(t.file_offset, r.offset, "{}", t.name);
        assert_eq!(t.n_bytes, r.n_bytes, "{}", t.name);
        let digest = format!("{:x}", Sha256::digest(file.tensor_data(t)));
        assert_eq!(digest, r.sha256_raw, "raw bytes of {}", t.name);
    }
}

/// llama-quantize made the published Gemma file; our Q4_K_M recipe, given the
/// same tensors unquantized (F16 matrices, F32 vectors), must choose the same type
/// for every tensor (this needs only the committed reference table, not the model).
#[test]
fn q4_k_m_recipe_reproduces_the_published_gemma_type_table() {
    use okla_formats::gguf::{plan, FileType, GgmlType, ModelFacts, TensorSpec};
    let expected = reference();
    let unquantized: Vec<TensorSpec> = expected
        .iter()
        .map(|r| {
            let ty = if r.shape.len() >= 2 {
                GgmlType::F16
            } else {
                GgmlType::F32
            };
            TensorSpec::new(r.name.clone(), ty, r.shape.clone())
        })
        .collect();
    let facts = ModelFacts {
        arch: "gemma3".into(),
        n_layer: 18,
        n_expert: 0,
        is_llama_70b: false,
    };
    let types = plan(FileType::Q4KM, &facts, &unquantized).unwrap();
    for (r, t) in expected.iter().zip(types) {
        assert_eq!(t.name(), r.ggml_type, "{}", r.name);
    }
}

/// Every tensor, of every type in the file, dequantizes to exactly gguf-py's values.
#[test]
fn gemma_tensors_dequantize_exactly_like_gguf_py() {
    use okla_formats::quant::{tensor::dequantize_tensor_into, QuantType};
    let Some(path) = common::gemma_q4_k_m() else {
        return;
    };
    let file = GgufFile::open(&path).unwrap();
    let mut checked = std::collections::BTreeMap::new();
    for (t, r) in file.tensors().iter().zip(reference()) {
        let codec = QuantType::from_ggml_type_id(t.ggml_type as u32)
            .unwrap_or_else(|| panic!("no codec for {} ({})", t.name, t.ggml_type));
        let mut values = vec![0f32; t.n_elements() as usize];
        dequantize_tensor_into(
            codec,
            file.tensor_data(t),
            t.row_len() as usize,
            &mut values,
        )
        .unwrap();
        let mut hasher = Sha256::new();
        for v in &values {
            hasher.update(v.to_le_bytes());
        }
        assert_eq!(
            format!("{:x}", hasher.finalize()),
            r.sha256_f32,
            "dequantized {}",
            t.name
        );
        *checked.entry(t.ggml_type.name()).or_insert(0) += 1;
    }
    let summary: Vec<String> = checked.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    assert_eq!(summary.join(" "), "F32:109 Q4_K:27 Q5_0:81 Q6_K:9 Q8_0:10");
}
