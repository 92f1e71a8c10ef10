//! Bit equality of `okla_formats::quant` with llama.cpp's reference quantizers and
//! dequantizers, on the vectors `scripts/reference/quant_vectors.py` generated into tests/data/quant.

use std::path::PathBuf;

use okla_formats::quant::QuantType;
use serde_json::Value;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/quant")
}

fn read(name: &str) -> Vec<u8> {
    let path = data_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

struct Vectors {
    case_len: usize,
    cases: Vec<String>,
    inputs: Vec<f32>,
}

fn vectors() -> (Vectors, Value) {
    let manifest: Value = serde_json::from_slice(&read("manifest.json")).unwrap();
    let case_len = manifest["case_len"].as_u64().unwrap() as usize;
    let cases = manifest["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    let inputs = f32s(&read("inputs.f32"));
    assert_eq!(inputs.len(), case_len * cases.len());
    (
        Vectors {
            case_len,
            cases,
            inputs,
        },
        manifest,
    )
}

fn first_difference<T: PartialEq>(a: &[T], b: &[T]) -> Option<usize> {
    a.iter().zip(b).position(|(x, y)| x != y)
}

#[test]
fn every_supported_type_has_vectors() {
    let (_, manifest) = vectors();
    for ty in QuantType::ALL {
        let entry = &manifest["types"][ty.name()];
        assert_eq!(
            entry["ggml_type"].as_u64(),
            Some(u64::from(ty.ggml_type_id())),
            "{ty}"
        );
    }
}

#[test]
fn quantize_matches_llama_cpp_bit_for_bit() {
    let (v, _) = vectors();
    for ty in QuantType::ALL {
        let reference = read(&format!("{}.quant", ty.name()));
        let case_bytes = ty.bytes_for(v.case_len).unwrap();
        assert_eq!(reference.len(), case_bytes * v.cases.len(), "{ty}");
        for (i, case) in v.cases.iter().enumerate() {
            let input = &v.inputs[i * v.case_len..(i + 1) * v.case_len];
            let expected = &reference[i * case_bytes..(i + 1) * case_bytes];
            let mut ours = vec![0u8; case_bytes];
            ty.quantize_row(input, &mut ours).unwrap();
            if let Some(at) = first_difference(&ours, expected) {
                panic!(
                    "{ty} quantize differs from llama.cpp on case {case}: byte {at} (block {}), ours {:#04x}, reference {:#04x}",
                    at / ty.block_bytes(),
                    ours[at],
                    expected[at]
                );
            }
        }
    }
}

#[test]
fn dequantize_matches_llama_cpp_bit_for_bit() {
    let (v, _) = vectors();
    for ty in QuantType::ALL {
        let reference = read(&format!("{}.quant", ty.name()));
        let expected: Vec<u32> = f32s(&read(&format!("{}.dequant.f32", ty.name())))
            .iter()
            .map(|x| x.to_bits())
            .collect();
        let mut ours = vec![0f32; v.inputs.len()];
        ty.dequantize_row(&reference, &mut ours).unwrap();
        let ours: Vec<u32> = ours.iter().map(|x| x.to_bits()).collect();
        if let Some(at) = first_difference(&ours, &expected) {
            panic!(
                "{ty} dequantize differs from llama.cpp on case {}: value {at}, ours {:#010x}, reference {:#010x}",
                v.cases[at / v.case_len],
                ours[at],
                expected[at]
            );
        }
    }
}
