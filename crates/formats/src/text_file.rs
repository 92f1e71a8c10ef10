//! Reading a user's text file (a suite, its cases, a predictions file): UTF-8 without a
//! byte-order mark. Anything else is an [`InputError`] that says what is wrong and where:
//! the line (and the byte within it) of the first invalid UTF-8 sequence, or the BOM on
//! line 1, which editors on Windows add and which no JSON or TOML parser names clearly.

use std::path::Path;

use crate::error::InputError;

/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Read `path` as UTF-8 text (see [`decode_text`]).
pub fn read_text(path: &Path) -> Result<String, InputError> {
    let bytes =
        std::fs::read(path).map_err(|e| InputError::file(path, format!("cannot read: {e}")))?;
    decode_text(bytes, path)
}

/// `bytes` (the contents of `path`) as text: UTF-8 without a byte-order mark.
pub fn decode_text(bytes: Vec<u8>, path: &Path) -> Result<String, InputError> {
    if bytes.starts_with(BOM) {
        return Err(InputError::at(
            path,
            1,
            None,
            "the file starts with a UTF-8 byte-order mark (BOM): save it as UTF-8 without BOM",
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
        InputError::at(
            path,
            line,
            None,
            format!(
                "not valid UTF-8 from byte {} of the line on (0x{:02X}): save the file as UTF-8",
                valid.len() - line_start + 1,
                e.as_bytes()[valid.len()]
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_utf8_reads_back() {
        let text = decode_text("línea 1\nlínea 2\n".into(), Path::new("a.jsonl")).unwrap();
        assert_eq!(text.lines().count(), 2);
    }

    #[test]
    fn a_bom_is_named_on_line_1() {
        let err =
            decode_text(b"\xEF\xBB\xBF{\"a\":1}\n".to_vec(), Path::new("a.jsonl")).unwrap_err();
        assert_eq!(err.line, Some(1));
        assert!(
            err.to_string()
                .starts_with("a.jsonl:1: the file starts with a UTF-8 byte-order mark"),
            "{err}"
        );
    }

    #[test]
    fn invalid_utf8_names_its_line_and_byte() {
        let err =
            decode_text(b"ok\nstill ok\nab\xFFcd\n".to_vec(), Path::new("a.jsonl")).unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(
            err.message.contains("byte 3 of the line on (0xFF)"),
            "{err}"
        );
        // Latin-1 text, as an old export writes it.
        let err = decode_text(b"caf\xE9\n".to_vec(), Path::new("b")).unwrap_err();
        assert_eq!(err.line, Some(1));
        assert!(err.message.contains("0xE9"), "{err}");
    }
}
