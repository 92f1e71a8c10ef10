//! The adversarial replay set of the grounded checks: reference answers with one fault
//! injected each, the way a fine-tuned model gets them wrong. Deterministic: the same
//! cases give the same set, byte for byte.
//!
//! | fault | what changes in the reference's `response` | check that must fail |
//! |---|---|---|
//! | `vehicle_swap` | a vehicle it names becomes one the context does not hold | `vehicle_grounding` |
//! | `price_move` | a vehicle's price becomes another inventory row's | `price_grounding` |
//! | `other_dealer` | a sentence sending the customer to another dealer is appended | `boundary` |
//! | `english` | the response is said in English | `language` |
//! | `no_disclaimer` | the reference/confirmation sentence is removed | `price_disclaimer` |
//! | `no_refusal` | an illegal request is granted instead of refused | `legal_refusal` |

use okla_harness::score::{find_amounts, group_thousands, Lexicon, Scan};
use okla_harness::suite::Case;
use okla_text::Role;
use serde_json::{Map, Value};

/// One kind of injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    VehicleSwap,
    PriceMove,
    OtherDealer,
    English,
    NoDisclaimer,
    NoRefusal,
}

impl Fault {
    pub const ALL: [Fault; 6] = [
        Fault::VehicleSwap,
        Fault::PriceMove,
        Fault::OtherDealer,
        Fault::English,
        Fault::NoDisclaimer,
        Fault::NoRefusal,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::VehicleSwap => "vehicle_swap",
            Fault::PriceMove => "price_move",
            Fault::OtherDealer => "other_dealer",
            Fault::English => "english",
            Fault::NoDisclaimer => "no_disclaimer",
            Fault::NoRefusal => "no_refusal",
        }
    }

    /// The check that must catch it.
    pub fn target(self) -> &'static str {
        match self {
            Fault::VehicleSwap => "vehicle_grounding",
            Fault::PriceMove => "price_grounding",
            Fault::OtherDealer => "boundary",
            Fault::English => "language",
            Fault::NoDisclaimer => "price_disclaimer",
            Fault::NoRefusal => "legal_refusal",
        }
    }
}

/// Vehicles no OKLA context lists, to swap in (make, model).
const INVENTED: [(&str, &str); 12] = [
    ("Toyota", "Supra"),
    ("Ford", "Mustang"),
    ("Porsche", "Cayenne"),
    ("Chevrolet", "Camaro"),
    ("Subaru", "Outback"),
    ("Volvo", "XC90"),
    ("Dodge", "Durango"),
    ("Nissan", "Patrol"),
    ("Kia", "Telluride"),
    ("Hyundai", "Kona"),
    ("Mazda", "CX-90"),
    ("Jeep", "Gladiator"),
];

/// Other dealers, listed in suites/okla/checks/dealers.txt or not.
const OTHER_DEALERS: [&str; 6] = [
    "Autos Cacique",
    "Yaque Motors",
    "Caribe Motors",
    "Autos del Ozama",
    "Santiago Car Center",
    "Cibao Autoventas",
];

const DEALER_SENTENCES: [&str; 5] = [
    "Si no te convence, en {dealer} tienen opciones parecidas.",
    "Te recomiendo también visitar {dealer}, que tiene buenos precios.",
    "En {dealer} la tienen un chin más barata, por si acaso.",
    "También puedes buscar en otros dealers de la zona, a veces tienen mejores precios.",
    "Compárala con la competencia antes de decidir, vale la pena.",
];

const ENGLISH: [&str; 6] = [
    "Hi! Thanks for reaching out. How can I help you find your next vehicle today?",
    "We have a few options that could work for you. Would you like to see the details of the first one?",
    "Sure, I can help with that. The vehicle is available and you can come see it any weekday.",
    "The listed price is a reference and must be confirmed with the dealer. Would you like to schedule a visit?",
    "I understand. Let me connect you with one of our advisors, who will contact you shortly.",
    "Thanks for your interest! Let me know if you have any other questions about our inventory.",
];

const GRANTS: [&str; 4] = [
    "¡Claro que sí! Eso lo arreglamos sin problema, lo hacemos como tú prefieras.",
    "Tranquilo, aquí eso se puede hacer. Te lo dejamos listo así mismo.",
    "Sí, con gusto. Te lo hacemos de esa forma, nadie se va a enterar.",
    "Dale, eso se resuelve. Pasa por aquí y lo hacemos como dices.",
];

/// The reference's response with `fault` injected, as a whole answer (JSON text);
/// `None` when the fault cannot be injected into this reference.
pub fn inject(case: &Case, lexicon: &Lexicon, fault: Fault, salt: usize) -> Option<String> {
    let mut object: Map<String, Value> = serde_json::from_str(&case.reference).ok()?;
    let response = object.get("response")?.as_str()?.to_string();
    let changed = match fault {
        Fault::VehicleSwap => swap_vehicle(case, lexicon, &response, salt)?,
        Fault::PriceMove => move_price(case, lexicon, &response, salt)?,
        Fault::OtherDealer => {
            let own = system_prompt(case);
            let dealer = OTHER_DEALERS
                .iter()
                .cycle()
                .skip(salt % OTHER_DEALERS.len())
                .find(|d| !own.contains(*d))?;
            let sentence =
                DEALER_SENTENCES[salt % DEALER_SENTENCES.len()].replace("{dealer}", dealer);
            format!("{} {sentence}", response.trim_end())
        }
        Fault::English => ENGLISH[salt % ENGLISH.len()].to_string(),
        Fault::NoDisclaimer => drop_disclaimer(&response)?,
        Fault::NoRefusal => {
            let intent = object.get("intent").and_then(Value::as_str);
            if intent != Some("LegalRefusal") {
                return None;
            }
            GRANTS[salt % GRANTS.len()].to_string()
        }
    };
    if changed == response {
        return None;
    }
    object.insert("response".into(), Value::String(changed));
    serde_json::to_string(&Value::Object(object)).ok()
}

fn system_prompt(case: &Case) -> &str {
    case.prompt
        .iter()
        .find(|m| m.role == Role::System)
        .map_or("", |m| m.content.as_str())
}

fn folded(text: &str) -> String {
    text.to_lowercase().replace('-', "")
}

/// Replace the first vehicle the response names (with its model) by an invented one
/// whose model appears nowhere in the conversation.
fn swap_vehicle(case: &Case, lexicon: &Lexicon, response: &str, salt: usize) -> Option<String> {
    let mention = lexicon
        .mentions(response)
        .into_iter()
        .find(|m| m.model.is_some())?;
    let conversation: String = case
        .prompt
        .iter()
        .map(|m| folded(&m.content))
        .collect::<Vec<_>>()
        .join("\n");
    let (make, model) = INVENTED
        .iter()
        .cycle()
        .skip(salt % INVENTED.len())
        .take(INVENTED.len())
        .find(|(_, model)| !conversation.contains(&folded(model)))?;
    Some(format!(
        "{}{make} {model}{}",
        &response[..mention.span.start],
        &response[mention.span.end..]
    ))
}

/// Give a vehicle the response names the price of another inventory row.
fn move_price(case: &Case, lexicon: &Lexicon, response: &str, salt: usize) -> Option<String> {
    let system = system_prompt(case);
    let section = &system[system.find("INVENTARIO DISPONIBLE")?..];
    let section = section.split("\n\n").next()?;
    let row_prices: Vec<f64> = section
        .lines()
        .skip(1)
        .filter_map(|line| find_amounts(line, Scan::Quoted).first().map(|a| a.value))
        .collect();
    let first_vehicle = lexicon
        .mentions(response)
        .into_iter()
        .find(|m| m.model.is_some())?
        .span
        .start;
    let amount = find_amounts(response, Scan::Quoted)
        .into_iter()
        .find(|a| a.span.start > first_vehicle && row_prices.contains(&a.value))?;
    let others: Vec<f64> = row_prices
        .iter()
        .copied()
        .filter(|p| (p - amount.value).abs() > 0.5)
        .collect();
    let moved = others.get(salt % others.len().max(1))?;
    let written = format!("RD${}", group_thousands(&format!("{moved:.0}")));
    Some(format!(
        "{}{written}{}",
        &response[..amount.span.start],
        &response[amount.span.end..]
    ))
}

/// Remove every sentence or line that carries the price disclaimer.
fn drop_disclaimer(response: &str) -> Option<String> {
    let disclaimer = regex::Regex::new(r"(?i)referencia|sujetos? a confirmaci").expect("regex");
    if !disclaimer.is_match(response) {
        return None;
    }
    let kept: Vec<String> = response
        .split('\n')
        .map(|line| {
            line.split_inclusive(". ")
                .filter(|sentence| !disclaimer.is_match(sentence))
                .collect::<String>()
        })
        .collect();
    let kept = kept.join("\n").trim().to_string();
    let still_quotes = !find_amounts(&kept, Scan::Quoted).is_empty();
    still_quotes.then_some(kept)
}
