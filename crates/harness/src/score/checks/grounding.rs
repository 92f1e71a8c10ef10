//! `vehicle_grounding` and `price_grounding`: every vehicle an answer names is one the
//! context lists (or one the user asked about), every listing id it carries is an id of
//! the context, and every amount it quotes is the price of the vehicle it is said of
//! (same line, bullet or sentence; else the vehicle the answer or the conversation was
//! last about), or an amount the user gave.

use serde_json::{Map, Value};

use super::amount::{find_amounts, Amount, Currency, Scan};
use super::context::{CaseContext, ContextReader, ModeKind, Resolution};
use super::text::segments;
use super::CheckVerdict;

/// `vehicle_grounding` on one answer (`None`: it names no vehicle and carries no id).
pub fn vehicle_grounding(
    reader: &ContextReader,
    context: &CaseContext,
    response: &str,
    object: &Map<String, Value>,
    id_fields: &[String],
) -> Option<CheckVerdict> {
    let kind = context.kind?;
    let mentions = reader.lexicon.mentions(response);
    let ids: Vec<(String, String)> = id_fields
        .iter()
        .flat_map(|pointer| {
            let field = pointer.trim_start_matches('/').replace('/', ".");
            strings_at(object, pointer)
                .into_iter()
                .map(move |id| (field.clone(), id))
        })
        .collect();
    if mentions.is_empty() && ids.is_empty() {
        return None;
    }
    let place = match kind {
        ModeKind::Single => "is not the vehicle in context",
        ModeKind::Inventory => "is not in the inventory",
    };
    let mut reasons = Vec::new();
    for mention in &mentions {
        let named = reader.lexicon.describe(mention);
        match reader.resolve(context, mention) {
            Resolution::Listed(_) => {}
            _ if reader.user_named(context, mention) => {}
            Resolution::WrongYear(records) => reasons.push(format!(
                "names “{named}”, listed as {}",
                labels(context, &records)
            )),
            Resolution::Unlisted => reasons.push(format!("names “{named}”, which {place}")),
        }
    }
    for (field, id) in ids {
        if !context.holds_id(&id) {
            reasons.push(format!("{field} “{id}” is not an id of the context"));
        }
    }
    Some(CheckVerdict::from_reasons(reasons))
}

/// What the amounts of one segment are said of.
#[derive(Debug, Clone)]
enum Subject {
    /// Nothing named yet: any amount of the context will do.
    Unknown,
    /// These listed vehicles.
    Records(Vec<usize>),
    /// A vehicle the context does not list.
    Unlisted(String),
}

/// `price_grounding` on one answer (`None`: it quotes no amount and carries no price field).
pub fn price_grounding(
    reader: &ContextReader,
    context: &CaseContext,
    response: &str,
    object: &Map<String, Value>,
    price_fields: &[String],
) -> Option<CheckVerdict> {
    let mut subject = if context.subject.is_empty() {
        Subject::Unknown
    } else {
        Subject::Records(context.subject.clone())
    };
    let mut reasons = Vec::new();
    let mut quoted_any = false;
    for range in segments(response) {
        let segment = &response[range];
        let mentions = reader.lexicon.mentions(segment);
        if let Some(first) = mentions.first() {
            let listed = reader.listed_in(context, segment);
            subject = if listed.is_empty() {
                Subject::Unlisted(reader.lexicon.describe(first))
            } else {
                Subject::Records(listed)
            };
        }
        for amount in find_amounts(segment, Scan::Quoted) {
            quoted_any = true;
            if let Some(reason) = ungrounded(context, &subject, &amount, segment) {
                reasons.push(reason);
            }
        }
    }
    let field_subject = field_subject(context, object, &subject);
    for pointer in price_fields {
        for value in numbers_at(object, pointer) {
            quoted_any = true;
            let amount = Amount {
                value,
                tolerance: 0.0,
                currency: Currency::Unstated,
                span: 0..0,
            };
            if let Some(reason) = ungrounded(context, &field_subject, &amount, "") {
                let field = pointer.trim_start_matches('/').replace('/', ".");
                reasons.push(format!("{field}: {reason}"));
            }
        }
    }
    quoted_any.then(|| CheckVerdict::from_reasons(reasons))
}

/// The vehicle a price field is about: the record of the answer's listing id when it
/// carries one, else what the response was last about.
fn field_subject(context: &CaseContext, object: &Map<String, Value>, last: &Subject) -> Subject {
    let by_id: Vec<usize> = context
        .records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.ids.iter().any(|id| object_mentions_id(object, id)))
        .map(|(i, _)| i)
        .collect();
    if by_id.is_empty() {
        last.clone()
    } else {
        Subject::Records(by_id)
    }
}

fn object_mentions_id(object: &Map<String, Value>, id: &str) -> bool {
    object
        .get("parameters")
        .and_then(Value::as_object)
        .is_some_and(|p| p.values().any(|v| v.as_str() == Some(id)))
}

/// Why `amount` is not grounded (`None` when it is).
fn ungrounded(
    context: &CaseContext,
    subject: &Subject,
    amount: &Amount,
    segment: &str,
) -> Option<String> {
    if context.user_amounts.iter().any(|u| amount.echoes(u)) {
        return None;
    }
    let shown = quote(segment, amount);
    match subject {
        Subject::Unknown => {
            let anywhere = context.context_amounts.iter().any(|c| amount.matches(c))
                || context
                    .records
                    .iter()
                    .any(|r| r.prices.iter().any(|p| amount.matches(p)));
            (!anywhere).then(|| format!("{shown} appears nowhere in the context"))
        }
        Subject::Unlisted(name) => Some(format!(
            "{shown} is said of “{name}”, which the context does not list"
        )),
        Subject::Records(records) => {
            let own = records
                .iter()
                .any(|&i| context.records[i].prices.iter().any(|p| amount.matches(p)));
            if own {
                return None;
            }
            let owner = context
                .records
                .iter()
                .find(|r| r.prices.iter().any(|p| amount.matches(p)));
            let listed: Vec<String> = records
                .iter()
                .map(|&i| {
                    let r = &context.records[i];
                    let price = r.prices.first().map_or("no price".into(), Amount::display);
                    format!("{} at {price}", r.label)
                })
                .collect();
            Some(match owner {
                Some(o) => format!(
                    "{shown} is said of {} but is the price of {}",
                    listed.join(", "),
                    o.label
                ),
                None => format!("{shown} is said of {}", listed.join(", ")),
            })
        }
    }
}

/// The amount as written in the answer (or as the listing writes it, for a field).
fn quote(segment: &str, amount: &Amount) -> String {
    match segment.get(amount.span.clone()) {
        Some(text) if !text.is_empty() => text.trim().to_string(),
        _ => amount.display(),
    }
}

fn labels(context: &CaseContext, records: &[usize]) -> String {
    records
        .iter()
        .map(|&i| context.records[i].label.clone())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The value at a JSON pointer into the answer object.
fn value_at<'a>(object: &'a Map<String, Value>, pointer: &str) -> Option<&'a Value> {
    let rest = pointer.strip_prefix('/')?;
    let (head, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let value = object.get(head)?;
    if tail.is_empty() {
        Some(value)
    } else {
        value.pointer(&format!("/{tail}"))
    }
}

fn strings_at(object: &Map<String, Value>, pointer: &str) -> Vec<String> {
    match value_at(object, pointer) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    }
}

fn numbers_at(object: &Map<String, Value>, pointer: &str) -> Vec<f64> {
    match value_at(object, pointer) {
        Some(Value::Number(n)) => n.as_f64().into_iter().collect(),
        _ => Vec::new(),
    }
}
