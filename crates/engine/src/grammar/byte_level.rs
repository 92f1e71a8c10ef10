//! GPT-2's byte-level alphabet: byte-level BPE vocabularies (Llama 3's among them) write
//! every byte as a printable character, so a token's text in `tokenizer.ggml.tokens`
//! (`Ġhola` for ` hola`) must be mapped back to the bytes the model emits.

/// The bytes a byte-level token's text stands for, or the first character outside the
/// alphabet. Printable bytes (`!`..=`~`, `¡`..=`¬`, `®`..=`ÿ`) are written as
/// themselves; the other 68 bytes, in order, as U+0100 onwards.
pub fn decode(text: &str) -> Result<Vec<u8>, char> {
    let table = inverse_table();
    text.chars()
        .map(|c| {
            usize::try_from(u32::from(c))
                .ok()
                .and_then(|i| table.get(i).copied().flatten())
                .ok_or(c)
        })
        .collect()
}

/// True for the bytes GPT-2 writes as themselves.
fn is_printable(byte: u32) -> bool {
    matches!(byte, 0x21..=0x7e | 0xa1..=0xac | 0xae..=0xff)
}

/// Byte by character code, for codes below U+0144 (the highest the alphabet uses).
fn inverse_table() -> &'static [Option<u8>; 0x144] {
    static TABLE: std::sync::OnceLock<[Option<u8>; 0x144]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = [None; 0x144];
        let mut next = 0x100;
        for byte in 0..=255u8 {
            if is_printable(u32::from(byte)) {
                table[usize::from(byte)] = Some(byte);
            } else {
                table[next] = Some(byte);
                next += 1;
            }
        }
        table
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_has_one_character() {
        let text: String = (0x21..0x144)
            .filter(|&c| is_printable(c) || c >= 0x100)
            .filter_map(char::from_u32)
            .collect();
        let mut bytes = decode(&text).unwrap();
        bytes.sort_unstable();
        assert_eq!(bytes, (0..=255).collect::<Vec<u8>>());
    }

    #[test]
    fn known_characters_map_to_their_bytes() {
        assert_eq!(
            decode("ĠĊĉĀ{éŃ"),
            Ok(vec![b' ', b'\n', b'\t', 0, b'{', 0xe9, 0xad])
        );
        assert_eq!(decode("ĠÃ±"), Ok(" ñ".as_bytes().to_vec()));
        assert_eq!(decode("ań"), Err('ń'));
        assert_eq!(decode("a🚗"), Err('🚗'));
    }
}
