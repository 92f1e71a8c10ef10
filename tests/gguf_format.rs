//! GGUF reader/writer: round trips (proptest), malformed-input errors, and the
//! `gguf inspect` renderings (insta snapshots) of a small file written here.

use std::io::Write;

use okla_formats::gguf::{
    inspect, Array, GgmlType, GgufFile, GgufLayout, GgufWriter, Metadata, TensorSpec, Value,
};
use proptest::prelude::*;

/// Serialize `metadata` + `tensors` with `data[i]` as tensor i's bytes.
fn write_bytes(metadata: Metadata, tensors: Vec<TensorSpec>, data: &[Vec<u8>]) -> Vec<u8> {
    let writer = GgufWriter::new(metadata, tensors).expect("valid writer input");
    let mut out = Vec::new();
    writer
        .write_to(&mut out, &mut |i, w: &mut dyn Write| w.write_all(&data[i]))
        .expect("write to memory");
    out
}

/// A small llama-like file: every scalar type, strings, a nested array, three tensors.
fn sample() -> (Metadata, Vec<TensorSpec>, Vec<Vec<u8>>) {
    let mut m = Metadata::new();
    m.insert("general.architecture", Value::String("llama".into()));
    m.insert("general.name", Value::String("tiny test model".into()));
    m.insert("llama.block_count", Value::U32(2));
    m.insert("llama.rope.freq_base", Value::F32(10000.0));
    m.insert("test.u8", Value::U8(255));
    m.insert("test.i8", Value::I8(-128));
    m.insert("test.u16", Value::U16(65535));
    m.insert("test.i16", Value::I16(-32768));
    m.insert("test.i32", Value::I32(-7));
    m.insert("test.u64", Value::U64(u64::MAX));
    m.insert("test.i64", Value::I64(i64::MIN));
    m.insert("test.f64", Value::F64(-0.25));
    m.insert("test.bool", Value::Bool(true));
    m.insert("test.long_string", Value::String("x".repeat(100)));
    m.insert(
        "tokenizer.ggml.tokens",
        Value::Array(Array::String((0..20).map(|i| format!("tok{i}")).collect())),
    );
    m.insert(
        "tokenizer.ggml.scores",
        Value::Array(Array::F32(vec![0.5, -1.0, 2.0])),
    );
    m.insert(
        "test.nested",
        Value::Array(Array::Array(vec![
            Array::U8(vec![1, 2]),
            Array::String(vec!["a".into()]),
        ])),
    );
    let tensors = vec![
        TensorSpec::new("token_embd.weight", GgmlType::F16, vec![4, 3]),
        TensorSpec::new("blk.0.attn_norm.weight", GgmlType::F32, vec![5]),
        TensorSpec::new("blk.0.ffn_down.weight", GgmlType::Q4_K, vec![256, 2]),
    ];
    let data = tensors
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let n = okla_formats::gguf::tensor_n_bytes(&t.name, t.ggml_type, &t.dims).unwrap();
            (0..n)
                .map(|b| (b as u8).wrapping_mul(31).wrapping_add(i as u8))
                .collect()
        })
        .collect();
    (m, tensors, data)
}

#[test]
fn sample_round_trips_through_a_file() {
    let (m, tensors, data) = sample();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("model.gguf");
    GgufWriter::new(m.clone(), tensors.clone())
        .unwrap()
        .write_file(&path, |i, w| w.write_all(&data[i]))
        .unwrap();
    let file = GgufFile::open(&path).unwrap();
    assert_eq!(file.layout().version, 3);
    assert_eq!(file.metadata(), &m);
    assert_eq!(file.layout().data_offset % 32, 0);
    for (i, t) in file.tensors().iter().enumerate() {
        assert_eq!(t.spec(), tensors[i]);
        assert_eq!(t.file_offset % 32, 0, "tensor {} misaligned", t.name);
        assert_eq!(file.tensor_data(t), &data[i][..]);
    }
    assert_eq!(
        file.metadata().str_array("tokenizer.ggml.tokens").unwrap()[19],
        "tok19"
    );
}

#[test]
fn custom_alignment_is_honoured() {
    let (mut m, tensors, data) = sample();
    m.insert("general.alignment", Value::U32(64));
    let bytes = write_bytes(m, tensors, &data);
    let layout = GgufLayout::parse(&bytes).unwrap();
    assert_eq!(layout.alignment, 64);
    assert!(layout.tensors.iter().all(|t| t.file_offset % 64 == 0));
    assert_eq!(bytes.len() as u64 % 64, 0);
}

#[test]
fn writer_rejects_wrong_data_sizes_and_bad_alignment() {
    let (m, tensors, _) = sample();
    let writer = GgufWriter::new(m.clone(), tensors).unwrap();
    let err = writer
        .write_to(&mut Vec::new(), &mut |_, w: &mut dyn Write| {
            w.write_all(&[1, 2, 3])
        })
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("tensor `token_embd.weight`: 3 bytes of data supplied, 24 expected"),
        "{err}"
    );
    let mut bad = m.clone();
    bad.insert("general.alignment", Value::U32(48));
    assert!(GgufWriter::new(bad, vec![]).is_err());
    let mut empty_key = m;
    empty_key.insert("", Value::U8(0));
    let err = GgufWriter::new(empty_key, vec![]).unwrap_err();
    assert_eq!(err.to_string(), "a metadata key is empty");
}

#[test]
fn failed_write_leaves_no_file() {
    let (m, tensors, _) = sample();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.gguf");
    let result = GgufWriter::new(m, tensors)
        .unwrap()
        .write_file(&path, |_, _| Err(std::io::Error::other("quantizer failed")));
    assert!(result.is_err());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// Parse `bytes` and return the error text.
fn parse_err(bytes: &[u8]) -> String {
    GgufLayout::parse(bytes).unwrap_err().to_string()
}

/// Byte offset of the first tensor info (right after the metadata) in `sample()`'s encoding.
fn patch(bytes: &mut [u8], needle: &[u8], replacement: &[u8]) {
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle present");
    bytes[at..at + replacement.len()].copy_from_slice(replacement);
}

#[test]
fn malformed_headers_get_clear_errors() {
    let (m, tensors, data) = sample();
    let good = write_bytes(m, tensors, &data);

    assert!(parse_err(b"GGML\x03\0\0\0").contains("not a GGUF file"));
    let mut v1 = good.clone();
    v1[4..8].copy_from_slice(&1u32.to_le_bytes());
    assert!(parse_err(&v1).contains("version 1 is not supported"));
    let mut be = good.clone();
    be[4..8].copy_from_slice(&3u32.to_be_bytes());
    assert!(parse_err(&be).contains("big-endian"));
    let mut many = good.clone();
    many[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(parse_err(&many).contains("the tensor count claims"));

    // Tensor type id 12 (Q4_K) of the last tensor → 99.
    let mut bad_type = good.clone();
    let name = b"blk.0.ffn_down.weight";
    let at = bad_type
        .windows(name.len())
        .position(|w| w == name)
        .unwrap()
        + name.len();
    let type_at = at + 4 + 2 * 8;
    bad_type[type_at..type_at + 4].copy_from_slice(&99u32.to_le_bytes());
    assert!(
        parse_err(&bad_type).contains("tensor `blk.0.ffn_down.weight` has unknown ggml type id 99")
    );

    // Row of 256 → 100 elements: not a whole Q4_K block.
    let mut bad_shape = good.clone();
    bad_shape[at + 4..at + 12].copy_from_slice(&100u64.to_le_bytes());
    assert!(parse_err(&bad_shape).contains("not a multiple of its block size 256"));

    // Offset not aligned, then offset past the end.
    let mut misaligned = good.clone();
    misaligned[type_at + 4..type_at + 12].copy_from_slice(&33u64.to_le_bytes());
    assert!(parse_err(&misaligned).contains("not a multiple of the alignment 32"));
    let mut past_end = good.clone();
    past_end[type_at + 4..type_at + 12].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert!(parse_err(&past_end).contains("runs past the end of the file"));

    // Duplicate key: rename test.i8 to test.u8.
    let mut dup = good.clone();
    patch(&mut dup, b"test.i8", b"test.u8");
    assert!(parse_err(&dup).contains("duplicate metadata key `test.u8`"));

    // Truncated data section.
    assert!(parse_err(&good[..good.len() - 1]).contains("runs past the end"));
}

#[test]
fn alignment_key_must_be_a_u32_power_of_two() {
    let mut m = Metadata::new();
    m.insert("general.alignment", Value::U64(32));
    let mut bytes = Vec::new();
    bytes.extend(b"GGUF");
    bytes.extend(3u32.to_le_bytes());
    bytes.extend(0u64.to_le_bytes());
    bytes.extend(1u64.to_le_bytes());
    let key = "general.alignment";
    bytes.extend((key.len() as u64).to_le_bytes());
    bytes.extend(key.as_bytes());
    bytes.extend(10u32.to_le_bytes());
    bytes.extend(32u64.to_le_bytes());
    assert!(parse_err(&bytes).contains("`general.alignment` must be u32, found u64"));
    let n = bytes.len();
    bytes[n - 12..n - 8].copy_from_slice(&4u32.to_le_bytes());
    bytes.truncate(n - 4);
    bytes[n - 8..n - 4].copy_from_slice(&24u32.to_le_bytes());
    assert!(parse_err(&bytes).contains("is 24, not a power of two"));
}

#[test]
fn every_truncation_of_a_valid_file_is_an_error_not_a_panic() {
    let (m, tensors, data) = sample();
    let good = write_bytes(m, tensors, &data);
    for len in 0..good.len() {
        assert!(
            GgufLayout::parse(&good[..len]).is_err(),
            "prefix of {len} bytes parsed"
        );
    }
}

#[test]
fn open_reports_the_file_and_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.gguf");
    std::fs::write(&path, b"GGUF\x03\0\0\0").unwrap();
    let err = GgufFile::open(&path).unwrap_err();
    assert!(okla_formats::error::is_input_error(&err));
    let text = format!("{err:#}");
    assert!(
        text.contains("junk.gguf: invalid GGUF: at byte 8: the tensor count needs 8 bytes"),
        "{text}"
    );
}

#[test]
fn inspect_text_snapshot() {
    let (m, tensors, data) = sample();
    let layout = GgufLayout::parse(&write_bytes(m, tensors, &data)).unwrap();
    insta::assert_snapshot!(inspect::render_text(&layout));
}

#[test]
fn inspect_json_snapshot() {
    let (m, tensors, data) = sample();
    let layout = GgufLayout::parse(&write_bytes(m, tensors, &data)).unwrap();
    insta::assert_json_snapshot!(inspect::render_json(&layout));
}

#[test]
fn inspect_cli_prints_the_table_and_exits_2_on_bad_files() {
    let (m, tensors, data) = sample();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.gguf");
    std::fs::write(&path, write_bytes(m, tensors, &data)).unwrap();
    assert_cmd::Command::cargo_bin("okla-eval")
        .unwrap()
        .args(["gguf", "inspect"])
        .arg(&path)
        .assert()
        .success()
        .stdout(predicates::str::contains("blk.0.ffn_down.weight"));
    let bad = dir.path().join("bad.gguf");
    std::fs::write(&bad, b"nope").unwrap();
    assert_cmd::Command::cargo_bin("okla-eval")
        .unwrap()
        .args(["gguf", "inspect", "--json"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not a GGUF file"));
}

// ---------- property tests ----------

fn finite_f32() -> impl Strategy<Value = f32> {
    prop_oneof![Just(0.0f32), Just(-0.0f32), -1e30f32..1e30f32]
}

fn finite_f64() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0f64), -1e300f64..1e300f64]
}

fn scalar_array() -> impl Strategy<Value = Array> {
    let n = 0..6usize;
    prop_oneof![
        prop::collection::vec(any::<u8>(), n.clone()).prop_map(Array::U8),
        prop::collection::vec(any::<i8>(), n.clone()).prop_map(Array::I8),
        prop::collection::vec(any::<u16>(), n.clone()).prop_map(Array::U16),
        prop::collection::vec(any::<i16>(), n.clone()).prop_map(Array::I16),
        prop::collection::vec(any::<u32>(), n.clone()).prop_map(Array::U32),
        prop::collection::vec(any::<i32>(), n.clone()).prop_map(Array::I32),
        prop::collection::vec(finite_f32(), n.clone()).prop_map(Array::F32),
        prop::collection::vec(any::<bool>(), n.clone()).prop_map(Array::Bool),
        prop::collection::vec(".{0,8}", n.clone()).prop_map(Array::String),
        prop::collection::vec(any::<u64>(), n.clone()).prop_map(Array::U64),
        prop::collection::vec(any::<i64>(), n.clone()).prop_map(Array::I64),
        prop::collection::vec(finite_f64(), n).prop_map(Array::F64),
    ]
}

fn array() -> impl Strategy<Value = Array> {
    scalar_array().prop_recursive(3, 12, 4, |inner| {
        prop::collection::vec(inner, 0..4).prop_map(Array::Array)
    })
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<u8>().prop_map(Value::U8),
        any::<i8>().prop_map(Value::I8),
        any::<u16>().prop_map(Value::U16),
        any::<i16>().prop_map(Value::I16),
        any::<u32>().prop_map(Value::U32),
        any::<i32>().prop_map(Value::I32),
        finite_f32().prop_map(Value::F32),
        any::<bool>().prop_map(Value::Bool),
        ".{0,20}".prop_map(Value::String),
        array().prop_map(Value::Array),
        any::<u64>().prop_map(Value::U64),
        any::<i64>().prop_map(Value::I64),
        finite_f64().prop_map(Value::F64),
    ]
}

fn metadata() -> impl Strategy<Value = Metadata> {
    prop::collection::vec(("[a-z._]{1,12}", value()), 0..8).prop_map(|kvs| {
        let mut m = Metadata::new();
        for (k, v) in kvs {
            if k != "general.alignment" {
                m.insert(k, v);
            }
        }
        m
    })
}

fn tensor() -> impl Strategy<Value = (TensorSpec, Vec<u8>)> {
    let types = prop::sample::select(GgmlType::ALL.to_vec());
    (
        types,
        0..3u64,
        prop::collection::vec(0..3u64, 0..3),
        "[a-z0-9._]{1,20}",
        any::<u8>(),
    )
        .prop_map(|(ty, blocks, outer, name, seed)| {
            let mut dims = vec![blocks * ty.block_size()];
            dims.extend(outer);
            let spec = TensorSpec::new(name, ty, dims);
            let n = spec.checked_n_bytes().expect("valid shape");
            let data = (0..n).map(|i| seed.wrapping_add(i as u8)).collect();
            (spec, data)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn write_then_read_gives_back_metadata_and_tensors(
        m in metadata(),
        ts in prop::collection::vec(tensor(), 0..5),
        align_pow in 0u32..8,
    ) {
        let mut m = m;
        let alignment = 1u32 << (align_pow + 2);
        m.insert("general.alignment", Value::U32(alignment));
        let mut seen = std::collections::HashSet::new();
        let ts: Vec<_> = ts.into_iter().filter(|(s, _)| seen.insert(s.name.clone())).collect();
        let (specs, data): (Vec<_>, Vec<_>) = ts.into_iter().unzip();
        let bytes = write_bytes(m.clone(), specs.clone(), &data);
        let layout = GgufLayout::parse(&bytes).unwrap();
        prop_assert_eq!(&layout.metadata, &m);
        prop_assert_eq!(layout.tensors.len(), specs.len());
        for (i, t) in layout.tensors.iter().enumerate() {
            prop_assert_eq!(t.spec(), specs[i].clone());
            prop_assert_eq!(t.file_offset % u64::from(alignment), 0);
            let range = t.file_offset as usize..(t.file_offset + t.n_bytes) as usize;
            prop_assert_eq!(&bytes[range], &data[i][..]);
        }
    }

    #[test]
    fn corrupted_files_never_panic(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let (m, tensors, data) = sample();
        let mut bytes = write_bytes(m, tensors, &data);
        for (at, b) in flips {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        let _ = GgufLayout::parse(&bytes);
    }

    #[test]
    fn arbitrary_bytes_after_the_magic_never_panic(tail in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut bytes = b"GGUF\x03\0\0\0".to_vec();
        bytes.extend(tail);
        let _ = GgufLayout::parse(&bytes);
    }
}
