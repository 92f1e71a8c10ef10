//! Property tests of the failure classifier: any JSON object, wrapped in prose,
//! followed by text or cut short, is classified as exactly that.

use okla_harness::score::{classify, FailureClass};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[a-zA-Z0-9 áéíóúñ¿?!{}\\[\\]\"\\\\:,]{0,12}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("[a-zA-Z]{1,8}", json_value(), 1..5)
        .prop_map(|m| m.into_iter().collect())
}

/// The object as serde_json reads it back from its compact text (floats may not round-trip exactly).
fn reparsed(obj: &Map<String, Value>) -> Map<String, Value> {
    serde_json::from_str(&serde_json::to_string(obj).unwrap()).unwrap()
}

/// Prose: words without braces, not starting with a JSON-looking character.
fn prose() -> impl Strategy<Value = String> {
    "[A-Za-zÁÉÍÓÚáéíóúñ¿¡][A-Za-zÁÉÍÓÚáéíóúñ .,¿?¡!:'-]{0,40}"
}

proptest! {
    #[test]
    fn bare_object_is_valid(obj in json_object(), pretty in any::<bool>(), ws in "[ \n\t]{0,3}") {
        let text = if pretty { serde_json::to_string_pretty(&obj).unwrap() } else { serde_json::to_string(&obj).unwrap() };
        let parsed = classify(&format!("{ws}{text}{ws}"));
        prop_assert_eq!(parsed.class, FailureClass::Valid);
        prop_assert_eq!(parsed.object, Some(reparsed(&obj)));
    }

    #[test]
    fn prose_around_object_is_recovered(obj in json_object(), before in prose(), after in prose()) {
        let text = format!("{before} {} {after}", serde_json::to_string(&obj).unwrap());
        let parsed = classify(&text);
        prop_assert_eq!(parsed.class, FailureClass::ProseAround);
        prop_assert_eq!(parsed.object, Some(reparsed(&obj)));
    }

    #[test]
    fn trailing_text_after_object(obj in json_object(), after in prose()) {
        let text = format!("{}\n{after}", serde_json::to_string(&obj).unwrap());
        let parsed = classify(&text);
        prop_assert_eq!(parsed.class, FailureClass::TrailingText);
        prop_assert_eq!(parsed.object, Some(reparsed(&obj)));
    }

    #[test]
    fn any_cut_of_an_object_is_truncated(obj in json_object(), cut in 0.0f64..1.0) {
        let full = serde_json::to_string(&obj).unwrap();
        let boundaries: Vec<usize> = full.char_indices().map(|(i, _)| i).filter(|&i| i > 0).collect();
        let end = boundaries[((boundaries.len() as f64) * cut) as usize % boundaries.len()];
        let parsed = classify(&full[..end]);
        prop_assert_eq!(parsed.class, FailureClass::Truncated, "cut {:?}", &full[..end]);
        prop_assert!(parsed.object.is_none());
    }

    #[test]
    fn prose_alone_has_no_json(text in prose()) {
        prop_assert_eq!(classify(&text).class, FailureClass::NoJson);
    }

    #[test]
    fn never_panics(text in "\\PC{0,200}") {
        let parsed = classify(&text);
        prop_assert_eq!(parsed.class == FailureClass::Valid, serde_json::from_str::<Map<String, Value>>(text.trim()).is_ok());
    }
}
