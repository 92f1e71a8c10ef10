//! Finding the line of a field in JSON or TOML text, so that an error about a parsed
//! value can name the line it came from. The parsers used (serde_json, toml) keep no
//! positions after parsing; these searches recover them from the text, and answer `None`
//! rather than a wrong line when the text is laid out in a way they do not follow.

/// The 1-based line of the value at `pointer` (a JSON Pointer: `/properties/intent/type`)
/// in `text`: each object key of the path is searched for (as a quoted key followed by
/// `:`) after the previous one; array indices are skipped. `None` when a key is absent.
pub fn json_pointer_line(text: &str, pointer: &str) -> Option<usize> {
    let mut at = 0;
    let mut found = false;
    for segment in pointer.split('/').skip(1) {
        let key = segment.replace("~1", "/").replace("~0", "~");
        if key.parse::<usize>().is_ok() {
            continue;
        }
        let quoted = serde_json::to_string(&key).ok()?;
        at = find_key(text, at, &quoted, ':')?;
        found = true;
    }
    found.then(|| line_of(text, at))
}

/// The 1-based line of `"key":` in `text` (the first such key: top-level keys of a
/// pretty-printed object come before nested ones of the same name only when written
/// first, so use it for keys whose name is unique in the file).
pub fn json_key_line(text: &str, key: &str) -> Option<usize> {
    let quoted = serde_json::to_string(key).ok()?;
    find_key(text, 0, &quoted, ':').map(|at| line_of(text, at))
}

/// The 1-based line that sets `key` of TOML `table` (`None`: the top level) in `text`:
/// `key = …` under a `[table]` header, or `table.key = …` at the top level.
pub fn toml_key_line(text: &str, table: Option<&str>, key: &str) -> Option<usize> {
    let mut current: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('[') {
            let name = line.trim_matches(|c| c == '[' || c == ']').trim();
            current = Some(name.to_string());
            continue;
        }
        let assigned = match (&current, table) {
            (None, None) => sets(line, key),
            (Some(t), Some(table)) if t == table => sets(line, key),
            (None, Some(table)) => line
                .strip_prefix(table)
                .and_then(|rest| rest.strip_prefix('.'))
                .is_some_and(|rest| sets(rest, key)),
            _ => false,
        };
        if assigned {
            return Some(i + 1);
        }
    }
    None
}

/// True when the TOML line sets `key` (bare or quoted).
fn sets(line: &str, key: &str) -> bool {
    let rest = line
        .strip_prefix(key)
        .or_else(|| line.strip_prefix(&format!("\"{key}\"")));
    rest.is_some_and(|rest| rest.trim_start().starts_with('='))
}

/// The byte offset of `quoted` followed (after whitespace) by `then`, from `from` on.
fn find_key(text: &str, from: usize, quoted: &str, then: char) -> Option<usize> {
    let mut start = from;
    while let Some(i) = text.get(start..)?.find(quoted) {
        let at = start + i;
        let after = &text[at + quoted.len()..];
        if after.trim_start().starts_with(then) {
            return Some(at);
        }
        start = at + quoted.len();
    }
    None
}

/// The 1-based line of byte offset `at`.
fn line_of(text: &str, at: usize) -> usize {
    1 + text[..at].matches('\n').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = r#"{
  "type": "object",
  "properties": {
    "type": {"type": "string"},
    "intent": {
      "type": "strng"
    }
  },
  "required": ["intent"]
}"#;

    #[test]
    fn json_pointers_follow_their_path() {
        assert_eq!(
            json_pointer_line(SCHEMA, "/properties/intent/type"),
            Some(6)
        );
        assert_eq!(json_pointer_line(SCHEMA, "/properties/type"), Some(4));
        assert_eq!(json_pointer_line(SCHEMA, "/required/0"), Some(9));
        assert_eq!(json_pointer_line(SCHEMA, "/properties/missing"), None);
        assert_eq!(json_pointer_line(SCHEMA, ""), None);
        assert_eq!(json_key_line(SCHEMA, "required"), Some(9));
        // A value equal to a key is not the key.
        assert_eq!(json_key_line("{\"a\": \"b\",\n\"b\": 1}", "b"), Some(2));
    }

    #[test]
    fn toml_keys_are_found_in_their_table_or_dotted() {
        let text = "name = \"x\"\ncases = [\"a\"]\n\n[decoding]\nmax_new_tokens = 0\n\n[thresholds]\njson_valid = { min = 85 }\n\"fields_complete\"= { min = 2 }\n";
        assert_eq!(toml_key_line(text, None, "cases"), Some(2));
        assert_eq!(
            toml_key_line(text, Some("decoding"), "max_new_tokens"),
            Some(5)
        );
        assert_eq!(
            toml_key_line(text, Some("thresholds"), "json_valid"),
            Some(8)
        );
        assert_eq!(
            toml_key_line(text, Some("thresholds"), "fields_complete"),
            Some(9)
        );
        assert_eq!(
            toml_key_line(text, Some("thresholds"), "max_new_tokens"),
            None
        );
        let dotted = "name = \"x\"\nthresholds.json_valid = { min = 85 }\n";
        assert_eq!(
            toml_key_line(dotted, Some("thresholds"), "json_valid"),
            Some(2)
        );
    }
}
