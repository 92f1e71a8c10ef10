//! The ordered key → value metadata of a GGUF file, with typed getters for the
//! modules that read model hyper-parameters and tokenizer tables.

use super::value::{Array, Value};

/// Why a typed metadata lookup failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// The key is not present.
    #[error("metadata key `{0}` is missing")]
    Missing(String),
    /// The key holds a value of another type (or out of the requested range).
    #[error("metadata key `{key}` holds {found}, expected {expected}")]
    WrongType {
        /// The key looked up.
        key: String,
        /// What the caller asked for.
        expected: &'static str,
        /// What the file holds.
        found: String,
    },
}

/// Metadata entries in file order; keys are unique.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    entries: Vec<(String, Value)>,
}

impl Metadata {
    /// An empty metadata set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Set `key`: replaces the value in place when present, appends otherwise.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// Remove `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(i).1)
    }

    /// Append without checking for duplicates (the reader checks first).
    pub(crate) fn push_unchecked(&mut self, key: String, value: Value) {
        self.entries.push((key, value));
    }

    fn require(&self, key: &str) -> Result<&Value, MetadataError> {
        self.get(key)
            .ok_or_else(|| MetadataError::Missing(key.to_string()))
    }

    fn wrong(key: &str, expected: &'static str, found: &Value) -> MetadataError {
        let found = match found.as_integer() {
            Some(v) => format!("{} {v}", found.type_label()),
            None => found.type_label(),
        };
        MetadataError::WrongType {
            key: key.to_string(),
            expected,
            found,
        }
    }

    fn integer<T: TryFrom<i128>>(
        &self,
        key: &str,
        expected: &'static str,
    ) -> Result<T, MetadataError> {
        let v = self.require(key)?;
        v.as_integer()
            .and_then(|i| T::try_from(i).ok())
            .ok_or_else(|| Self::wrong(key, expected, v))
    }

    /// `read`'s value of `key` when the key is present, `None` when it is absent; a
    /// present key of the wrong type is still an error (e.g.
    /// `md.optional("tokenizer.ggml.add_bos_token", Metadata::bool)`).
    pub fn optional<'a, T>(
        &'a self,
        key: &str,
        read: impl FnOnce(&'a Self, &str) -> Result<T, MetadataError>,
    ) -> Result<Option<T>, MetadataError> {
        self.get(key).map(|_| read(self, key)).transpose()
    }

    /// An integer of any stored width that fits in `u32`.
    pub fn u32(&self, key: &str) -> Result<u32, MetadataError> {
        self.integer(key, "an integer that fits u32")
    }

    /// An integer of any stored width that fits in `u64`.
    pub fn u64(&self, key: &str) -> Result<u64, MetadataError> {
        self.integer(key, "an integer that fits u64")
    }

    /// An integer of any stored width that fits in `i64`.
    pub fn i64(&self, key: &str) -> Result<i64, MetadataError> {
        self.integer(key, "an integer that fits i64")
    }

    /// A float (`f32`, or `f64` narrowed).
    pub fn f32(&self, key: &str) -> Result<f32, MetadataError> {
        match self.require(key)? {
            Value::F32(v) => Ok(*v),
            Value::F64(v) => Ok(*v as f32),
            other => Err(Self::wrong(key, "f32", other)),
        }
    }

    /// A bool.
    pub fn bool(&self, key: &str) -> Result<bool, MetadataError> {
        match self.require(key)? {
            Value::Bool(v) => Ok(*v),
            other => Err(Self::wrong(key, "bool", other)),
        }
    }

    /// A string.
    pub fn str(&self, key: &str) -> Result<&str, MetadataError> {
        match self.require(key)? {
            Value::String(v) => Ok(v),
            other => Err(Self::wrong(key, "str", other)),
        }
    }

    /// An array of any element type.
    pub fn array(&self, key: &str) -> Result<&Array, MetadataError> {
        match self.require(key)? {
            Value::Array(a) => Ok(a),
            other => Err(Self::wrong(key, "arr", other)),
        }
    }

    /// An `arr[str]` (e.g. `tokenizer.ggml.tokens`).
    pub fn str_array(&self, key: &str) -> Result<&[String], MetadataError> {
        match self.require(key)? {
            Value::Array(Array::String(v)) => Ok(v),
            other => Err(Self::wrong(key, "arr[str]", other)),
        }
    }

    /// An `arr[f32]` (e.g. `tokenizer.ggml.scores`).
    pub fn f32_array(&self, key: &str) -> Result<&[f32], MetadataError> {
        match self.require(key)? {
            Value::Array(Array::F32(v)) => Ok(v),
            other => Err(Self::wrong(key, "arr[f32]", other)),
        }
    }

    /// An `arr[i32]` (e.g. `tokenizer.ggml.token_type`).
    pub fn i32_array(&self, key: &str) -> Result<&[i32], MetadataError> {
        match self.require(key)? {
            Value::Array(Array::I32(v)) => Ok(v),
            other => Err(Self::wrong(key, "arr[i32]", other)),
        }
    }

    /// An `arr[u32]`.
    pub fn u32_array(&self, key: &str) -> Result<&[u32], MetadataError> {
        match self.require(key)? {
            Value::Array(Array::U32(v)) => Ok(v),
            other => Err(Self::wrong(key, "arr[u32]", other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_getters_convert_widths_and_name_the_problem() {
        let mut m = Metadata::new();
        m.insert("a", Value::U64(7));
        m.insert("neg", Value::I32(-1));
        m.insert("s", Value::String("x".into()));
        m.insert("f", Value::F64(0.5));
        assert_eq!(m.u32("a"), Ok(7));
        assert_eq!(m.f32("f"), Ok(0.5));
        assert_eq!(m.str("s"), Ok("x"));
        assert_eq!(
            m.u32("missing"),
            Err(MetadataError::Missing("missing".into()))
        );
        let err = m.u32("neg").unwrap_err().to_string();
        assert_eq!(
            err,
            "metadata key `neg` holds i32 -1, expected an integer that fits u32"
        );
        assert!(m
            .str_array("s")
            .unwrap_err()
            .to_string()
            .contains("holds str, expected arr[str]"));
    }

    #[test]
    fn optional_reads_a_present_key_skips_an_absent_one_and_refuses_a_wrong_type() {
        let mut m = Metadata::new();
        m.insert("flag", Value::Bool(false));
        m.insert("s", Value::String("x".into()));
        assert_eq!(m.optional("flag", Metadata::bool), Ok(Some(false)));
        assert_eq!(m.optional("missing", Metadata::bool), Ok(None));
        assert!(m.optional("s", Metadata::bool).is_err());
    }

    #[test]
    fn insert_replaces_in_place_and_remove_keeps_order() {
        let mut m = Metadata::new();
        m.insert("a", Value::U8(1));
        m.insert("b", Value::U8(2));
        m.insert("a", Value::U8(3));
        let keys: Vec<_> = m.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(m.get("a"), Some(&Value::U8(3)));
        assert_eq!(m.remove("a"), Some(Value::U8(3)));
        assert_eq!(m.len(), 1);
    }
}
