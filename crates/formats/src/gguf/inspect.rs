//! `gguf inspect` output: a human-readable listing and a JSON document of a
//! file's metadata (long arrays and strings summarized) and tensor table.
//! Reads only the header, never tensor data.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{json, Value as Json};

use super::reader::GgufLayout;
use super::value::{Array, Value};

/// Array elements shown before summarizing.
const SHOWN_ITEMS: usize = 8;
/// Characters of a string shown before truncating.
const SHOWN_CHARS: usize = 72;

/// The text listing: a summary line, the metadata table and the tensor table.
pub fn render_text(layout: &GgufLayout) -> String {
    let mut out = String::new();
    let data_bytes: u64 = layout.tensors.iter().map(|t| t.n_bytes).sum();
    let _ = writeln!(
        out,
        "GGUF v{} · {} metadata keys · {} tensors · alignment {} · data at byte {} · {} bytes of tensor data · file {} bytes",
        layout.version,
        layout.metadata.len(),
        layout.tensors.len(),
        layout.alignment,
        layout.data_offset,
        data_bytes,
        layout.file_len
    );
    let _ = writeln!(out, "\nmetadata:");
    let key_width = layout
        .metadata
        .iter()
        .map(|(k, _)| k.len())
        .max()
        .unwrap_or(0);
    let labels: Vec<String> = layout
        .metadata
        .iter()
        .map(|(_, v)| type_with_len(v))
        .collect();
    let type_width = labels.iter().map(String::len).max().unwrap_or(0);
    for ((key, value), label) in layout.metadata.iter().zip(&labels) {
        let _ = writeln!(
            out,
            "  {key:<key_width$}  {label:<type_width$}  {}",
            text_value(value)
        );
    }
    let _ = writeln!(out, "\ntensors:");
    let shapes: Vec<String> = layout
        .tensors
        .iter()
        .map(|t| format!("{:?}", t.dims))
        .collect();
    let name_width = layout
        .tensors
        .iter()
        .map(|t| t.name.len())
        .max()
        .unwrap_or(0)
        .max(4);
    let shape_width = shapes.iter().map(String::len).max().unwrap_or(0).max(5);
    let _ = writeln!(
        out,
        "  {:>5}  {:<name_width$}  {:<7}  {:<shape_width$}  {:>12}",
        "#", "name", "type", "shape", "bytes"
    );
    for (i, (t, shape)) in layout.tensors.iter().zip(&shapes).enumerate() {
        let _ = writeln!(
            out,
            "  {i:>5}  {:<name_width$}  {:<7}  {shape:<shape_width$}  {:>12}",
            t.name,
            t.ggml_type.name(),
            t.n_bytes
        );
    }
    let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &layout.tensors {
        *by_type.entry(t.ggml_type.name()).or_default() += 1;
    }
    let counts: Vec<String> = by_type.iter().map(|(t, n)| format!("{t} ×{n}")).collect();
    let _ = writeln!(out, "\ntensor types: {}", counts.join(", "));
    out
}

/// The JSON document: version, alignment, offsets, metadata (type + value, arrays
/// summarized to their first items and length) and tensors.
pub fn render_json(layout: &GgufLayout) -> Json {
    let metadata: Vec<Json> = layout
        .metadata
        .iter()
        .map(|(key, value)| {
            let mut entry = json!({"key": key, "type": value.type_label()});
            if let Value::Array(a) = value {
                entry["len"] = json!(a.len());
            }
            entry["value"] = json_value(value);
            entry
        })
        .collect();
    let tensors: Vec<Json> = layout
        .tensors
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "type": t.ggml_type.name(),
                "shape": t.dims,
                "bytes": t.n_bytes,
                "offset": t.file_offset,
            })
        })
        .collect();
    json!({
        "version": layout.version,
        "alignment": layout.alignment,
        "data_offset": layout.data_offset,
        "file_bytes": layout.file_len,
        "metadata": metadata,
        "tensors": tensors,
    })
}

fn type_with_len(v: &Value) -> String {
    match v {
        Value::Array(a) => format!("{}[{}]", v.type_label(), a.len()),
        _ => v.type_label(),
    }
}

fn truncated(s: &str) -> String {
    if s.chars().count() <= SHOWN_CHARS {
        return s.to_string();
    }
    let head: String = s.chars().take(SHOWN_CHARS).collect();
    format!("{head}… ({} chars)", s.chars().count())
}

fn text_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{:?}", truncated(s)),
        Value::Array(a) => text_array(a),
        Value::F32(x) => x.to_string(),
        Value::F64(x) => x.to_string(),
        Value::Bool(b) => b.to_string(),
        other => other
            .as_integer()
            .map(|i| i.to_string())
            .unwrap_or_default(),
    }
}

fn text_array(a: &Array) -> String {
    let shown: Vec<String> = (0..a.len().min(SHOWN_ITEMS))
        .filter_map(|i| a.get(i))
        .map(|v| text_value(&v))
        .collect();
    let more = if a.len() > SHOWN_ITEMS {
        format!(", … {} more", a.len() - SHOWN_ITEMS)
    } else {
        String::new()
    };
    format!("[{}{more}]", shown.join(", "))
}

fn json_value(v: &Value) -> Json {
    match v {
        Value::String(s) => json!(truncated(s)),
        Value::Array(a) => Json::Array(
            (0..a.len().min(SHOWN_ITEMS))
                .filter_map(|i| a.get(i))
                .map(|v| json_value(&v))
                .collect(),
        ),
        Value::F32(x) => json!(x),
        Value::F64(x) => json!(x),
        Value::Bool(b) => json!(b),
        other => match other.as_integer() {
            Some(i) if i >= 0 => json!(i as u64),
            Some(i) => json!(i as i64),
            None => Json::Null,
        },
    }
}
