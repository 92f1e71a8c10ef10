//! Bounds-checked little-endian decoding of GGUF primitives and metadata values.
//! Every read checks the remaining length first; counts are checked against the
//! bytes left before anything is allocated, so no input can panic or exhaust memory.

use super::error::GgufError;
use super::value::{Array, Value, ValueType};

/// Deepest nesting of arrays inside arrays we accept.
pub const MAX_ARRAY_DEPTH: usize = 8;

/// A read position in a byte slice.
pub struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// Current offset.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes left after the current offset.
    pub fn remaining(&self) -> u64 {
        (self.bytes.len() - self.pos) as u64
    }

    /// Take `n` bytes for `what`, or fail naming it.
    pub fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8], GgufError> {
        if n > self.remaining() {
            return Err(GgufError::at(
                self.pos,
                format!(
                    "{what} needs {n} bytes but the file has only {} left",
                    self.remaining()
                ),
            ));
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.bytes[start..self.pos])
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], GgufError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N as u64, what)?);
        Ok(out)
    }

    /// A little-endian u32.
    pub fn u32(&mut self, what: &str) -> Result<u32, GgufError> {
        self.array(what).map(u32::from_le_bytes)
    }

    /// A little-endian u64.
    pub fn u64(&mut self, what: &str) -> Result<u64, GgufError> {
        self.array(what).map(u64::from_le_bytes)
    }

    /// A GGUF string: u64 length then UTF-8 bytes.
    pub fn string(&mut self, what: &str) -> Result<String, GgufError> {
        let at = self.pos;
        let len = self.u64(what)?;
        let bytes = self.take(len, what)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|e| GgufError::at(at, format!("{what} is not valid UTF-8 ({e})")))
    }

    /// Check that `count` elements of at least `min_size` bytes each can fit in what is left.
    pub fn check_count(&self, count: u64, min_size: u64, what: &str) -> Result<(), GgufError> {
        if count.saturating_mul(min_size) > self.remaining() {
            return Err(GgufError::at(
                self.pos,
                format!(
                    "{what} claims {count} entries, more than the {} bytes left can hold",
                    self.remaining()
                ),
            ));
        }
        Ok(())
    }

    /// A value type id.
    pub fn value_type(&mut self, what: &str) -> Result<ValueType, GgufError> {
        let at = self.pos;
        let id = self.u32(what)?;
        ValueType::from_id(id)
            .ok_or_else(|| GgufError::at(at, format!("{what} has unknown value type id {id}")))
    }

    /// One value of type `ty`; `what` names it in errors.
    pub fn value(&mut self, ty: ValueType, what: &str, depth: usize) -> Result<Value, GgufError> {
        Ok(match ty {
            ValueType::U8 => Value::U8(u8::from_le_bytes(self.array(what)?)),
            ValueType::I8 => Value::I8(i8::from_le_bytes(self.array(what)?)),
            ValueType::U16 => Value::U16(u16::from_le_bytes(self.array(what)?)),
            ValueType::I16 => Value::I16(i16::from_le_bytes(self.array(what)?)),
            ValueType::U32 => Value::U32(self.u32(what)?),
            ValueType::I32 => Value::I32(i32::from_le_bytes(self.array(what)?)),
            ValueType::F32 => Value::F32(f32::from_le_bytes(self.array(what)?)),
            ValueType::Bool => Value::Bool(self.bool(what)?),
            ValueType::String => Value::String(self.string(what)?),
            ValueType::Array => Value::Array(self.array_value(what, depth)?),
            ValueType::U64 => Value::U64(self.u64(what)?),
            ValueType::I64 => Value::I64(i64::from_le_bytes(self.array(what)?)),
            ValueType::F64 => Value::F64(f64::from_le_bytes(self.array(what)?)),
        })
    }

    fn bool(&mut self, what: &str) -> Result<bool, GgufError> {
        let at = self.pos;
        match self.array::<1>(what)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(GgufError::at(
                at,
                format!("{what} is a bool with byte value {b} (must be 0 or 1)"),
            )),
        }
    }

    /// An array body: element type, count, elements.
    pub fn array_value(&mut self, what: &str, depth: usize) -> Result<Array, GgufError> {
        if depth >= MAX_ARRAY_DEPTH {
            return Err(GgufError::at(
                self.pos,
                format!("{what} nests arrays more than {MAX_ARRAY_DEPTH} deep"),
            ));
        }
        let elem = self.value_type(what)?;
        let n = self.u64(what)?;
        self.check_count(n, elem.min_encoded_size(), what)?;
        // `n` now fits in memory terms: n * min_size <= remaining bytes.
        let n = n as usize;
        macro_rules! fixed {
            ($variant:ident, $t:ty) => {{
                let size = std::mem::size_of::<$t>();
                let raw = self.take((n * size) as u64, what)?;
                Array::$variant(
                    raw.chunks_exact(size)
                        .map(|c| {
                            <$t>::from_le_bytes(c.try_into().expect("chunk has the element size"))
                        })
                        .collect(),
                )
            }};
        }
        Ok(match elem {
            ValueType::U8 => Array::U8(self.take(n as u64, what)?.to_vec()),
            ValueType::I8 => fixed!(I8, i8),
            ValueType::U16 => fixed!(U16, u16),
            ValueType::I16 => fixed!(I16, i16),
            ValueType::U32 => fixed!(U32, u32),
            ValueType::I32 => fixed!(I32, i32),
            ValueType::F32 => fixed!(F32, f32),
            ValueType::U64 => fixed!(U64, u64),
            ValueType::I64 => fixed!(I64, i64),
            ValueType::F64 => fixed!(F64, f64),
            ValueType::Bool => {
                Array::Bool((0..n).map(|_| self.bool(what)).collect::<Result<_, _>>()?)
            }
            ValueType::String => Array::String(
                (0..n)
                    .map(|_| self.string(what))
                    .collect::<Result<_, _>>()?,
            ),
            ValueType::Array => Array::Array(
                (0..n)
                    .map(|_| self.array_value(what, depth + 1))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_input_names_the_field_and_offset() {
        let mut c = Cursor::new(&[1, 2]);
        let e = c.u32("tensor count").unwrap_err();
        assert_eq!(
            e.to_string(),
            "at byte 0: tensor count needs 4 bytes but the file has only 2 left"
        );
    }

    #[test]
    fn huge_array_counts_fail_before_allocating() {
        let mut bytes = 8u32.to_le_bytes().to_vec(); // arr[str]
        bytes.extend(u64::MAX.to_le_bytes());
        let e = Cursor::new(&bytes).array_value("key `k`", 0).unwrap_err();
        assert!(
            e.message.contains("claims 18446744073709551615 entries"),
            "{e}"
        );
    }

    #[test]
    fn bools_must_be_zero_or_one() {
        let e = Cursor::new(&[2])
            .value(ValueType::Bool, "key `b`", 0)
            .unwrap_err();
        assert!(e.message.contains("byte value 2"), "{e}");
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let mut bytes = Vec::new();
        for _ in 0..=MAX_ARRAY_DEPTH {
            bytes.extend(9u32.to_le_bytes());
            bytes.extend(1u64.to_le_bytes());
        }
        bytes.extend(0u32.to_le_bytes());
        bytes.extend(0u64.to_le_bytes());
        let e = Cursor::new(&bytes).array_value("key `n`", 0).unwrap_err();
        assert!(e.message.contains("nests arrays"), "{e}");
    }
}
