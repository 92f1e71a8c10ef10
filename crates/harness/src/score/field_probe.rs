//! Reading one string field of a JSON object without building the whole value:
//! the reference answer is parsed once per scored turn only for its intent, so this
//! skips every other field instead of allocating it.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

/// The string value of top-level `field` in the JSON object `text`; `None` when the text
/// is not a JSON object, the field is absent or not a string.
pub fn string_field(text: &str, field: &str) -> Option<String> {
    let mut de = serde_json::Deserializer::from_str(text);
    let found = FieldProbe { field }.deserialize(&mut de).ok()?;
    de.end().ok()?;
    found
}

struct FieldProbe<'f> {
    field: &'f str,
}

impl<'de> DeserializeSeed<'de> for FieldProbe<'_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FieldProbe<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == self.field && found.is_none() {
                found = Some(
                    map.next_value::<serde_json::Value>()?
                        .as_str()
                        .map(String::from),
                );
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found.flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_field_and_nothing_else() {
        let text = r#" {"response": "Hola \"klk\"", "intent": "Greeting", "parameters": {"intent": "x"}} "#;
        assert_eq!(string_field(text, "intent").as_deref(), Some("Greeting"));
        assert_eq!(
            string_field(text, "response").as_deref(),
            Some("Hola \"klk\"")
        );
        assert_eq!(string_field(text, "missing"), None);
        assert_eq!(string_field(r#"{"intent": 3}"#, "intent"), None);
        assert_eq!(string_field(r#"{"intent": "A"} trailing"#, "intent"), None);
        assert_eq!(string_field("[1]", "intent"), None);
        assert_eq!(string_field(r#"{"intent": "A""#, "intent"), None);
    }
}
