//! Field completeness: every required field present with the type the schema gives it.

use serde_json::{Map, Value};

/// A required field and the JSON types the schema allows for it (empty: any type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredField {
    /// The field name at the top level of the answer object.
    pub name: String,
    /// Allowed JSON Schema type names (`string`, `number`, `integer`, `boolean`, `object`, `array`, `null`).
    pub types: Vec<String>,
}

/// Build the required-field list, taking each field's type from `schema.properties.<name>.type`.
pub fn required_fields(names: &[String], schema: &Value) -> Vec<RequiredField> {
    names
        .iter()
        .map(|name| {
            let types = match schema.pointer(&format!("/properties/{}/type", escape_pointer(name)))
            {
                Some(Value::String(t)) => vec![t.clone()],
                Some(Value::Array(ts)) => ts
                    .iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect(),
                _ => Vec::new(),
            };
            RequiredField {
                name: name.clone(),
                types,
            }
        })
        .collect()
}

fn escape_pointer(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// True when `value` has JSON Schema type `ty`.
pub fn has_type(value: &Value, ty: &str) -> bool {
    match ty {
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "null" => value.is_null(),
        _ => true,
    }
}

/// The problems with the required fields of `object`: one message per missing or mistyped field.
pub fn field_problems(object: &Map<String, Value>, required: &[RequiredField]) -> Vec<String> {
    required
        .iter()
        .filter_map(|f| match object.get(&f.name) {
            None => Some(format!("{}: missing", f.name)),
            Some(v) if !f.types.is_empty() && !f.types.iter().any(|t| has_type(v, t)) => {
                Some(format!(
                    "{}: expected {}, got {}",
                    f.name,
                    f.types.join(" or "),
                    crate::suite::json_type_name(v)
                ))
            }
            Some(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_missing_and_mistyped() {
        let schema = json!({"properties": {"confidence": {"type": "number"}, "isFallback": {"type": "boolean"}}});
        let req = required_fields(
            &["confidence".into(), "isFallback".into(), "intent".into()],
            &schema,
        );
        let obj = json!({"confidence": "0.9", "intent": "Greeting"});
        let problems = field_problems(obj.as_object().unwrap(), &req);
        assert_eq!(
            problems,
            vec![
                "confidence: expected number, got string",
                "isFallback: missing"
            ]
        );
        let good = json!({"confidence": 0.9, "isFallback": false, "intent": 3});
        assert!(field_problems(good.as_object().unwrap(), &req).is_empty());
    }
}
