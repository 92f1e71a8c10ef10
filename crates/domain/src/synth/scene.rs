//! The state of one conversation being generated: mode, dealer and stock in
//! context, the vehicle under discussion and the lead signals so far; plus the
//! helpers that make user text sound like Dominican chat.

use super::answer::LeadSignals;
use super::catalog::{Dealer, Inventory, Vehicle};
use crate::intent::Mode;
use okla_formats::rng::SplitMix64 as Rng;

/// One conversation's context and running state.
#[derive(Debug, Clone)]
pub struct Scene {
    /// SingleVehicle or DealerInventory.
    pub mode: Mode,
    /// The dealer and the vehicles in context (one in SingleVehicle mode).
    pub inventory: Inventory,
    /// Index of the vehicle being discussed, if any.
    pub focus: Option<usize>,
    /// Lead signals accumulated so far.
    pub signals: LeadSignals,
    /// Copy drills: every turn names a vehicle other than the focus, so the
    /// previous answer's `vehicleId` is never the one to write.
    pub switch_targets: bool,
}

impl Scene {
    /// The dealer in context.
    pub fn dealer(&self) -> &Dealer {
        &self.inventory.dealer
    }

    /// The vehicle under discussion, if any.
    pub fn focused(&self) -> Option<&Vehicle> {
        self.focus.map(|i| &self.inventory.vehicles[i])
    }

    /// Choose the vehicle a turn is about and how the user refers to it.
    /// SingleVehicle: always the one in context. DealerInventory: often the
    /// current focus (referred to implicitly), otherwise one named explicitly;
    /// with `switch_targets`, always another vehicle than the focus, named.
    pub fn target(&mut self, rng: &mut Rng) -> (usize, String) {
        if self.mode == Mode::SingleVehicle {
            self.focus = Some(0);
            let v = &self.inventory.vehicles[0];
            return (0, implicit_reference(rng, v));
        }
        if self.switch_targets {
            let n = self.inventory.vehicles.len();
            let i = match self.focus {
                Some(focus) if n > 1 => (focus + 1 + rng.below(n - 1)) % n,
                _ => rng.below(n),
            };
            self.focus = Some(i);
            return (i, explicit_reference(rng, &self.inventory.vehicles[i]));
        }
        if let Some(i) = self.focus.filter(|_| rng.percent(55)) {
            return (i, implicit_reference(rng, &self.inventory.vehicles[i]));
        }
        let i = rng.below(self.inventory.vehicles.len());
        self.focus = Some(i);
        (i, explicit_reference(rng, &self.inventory.vehicles[i]))
    }

    /// The vehicle at `index` of the context.
    pub fn vehicle(&self, index: usize) -> &Vehicle {
        &self.inventory.vehicles[index]
    }
}

/// "la yipeta", "el carro", "esa vaina" — a reference to the vehicle already in focus.
fn implicit_reference(rng: &mut Rng, v: &Vehicle) -> String {
    let noun = match v.model.body {
        super::catalog::Body::Suv => *rng.pick(&["la yipeta", "esa yipeta", "la yipetica"]),
        super::catalog::Body::Pickup => *rng.pick(&["la camioneta", "esa camioneta", "la pickup"]),
        super::catalog::Body::Van => *rng.pick(&["la guagua", "esa guagua", "la guagüita"]),
        _ => *rng.pick(&["el carro", "ese carro", "el carrito"]),
    };
    let options = [
        noun.to_string(),
        format!("el {}", v.model.name),
        "esa vaina".to_string(),
        noun.to_string(),
    ];
    rng.pick(&options).clone()
}

/// "la Toyota RAV4", "el Corolla 2022" — a reference naming the vehicle.
fn explicit_reference(rng: &mut Rng, v: &Vehicle) -> String {
    let article = match v.model.body {
        super::catalog::Body::Suv | super::catalog::Body::Pickup | super::catalog::Body::Van => {
            "la"
        }
        _ => "el",
    };
    let options = [
        format!("{article} {}", v.make_model()),
        format!("{article} {} {}", v.model.name, v.year),
        format!("{article} {}", v.model.name),
        format!("{article} {} {}", v.make_model(), v.year),
    ];
    rng.pick(&options).clone()
}

/// Make a user line sound like chat: optional opener and closer, dropped
/// inverted question marks, lowercase, sometimes no accents.
pub fn casual(rng: &mut Rng, text: &str) -> String {
    const OPENERS: &[&str] = &[
        "klk, ",
        "oye, ",
        "mira, ",
        "manito, ",
        "disculpa, ",
        "buenas, ",
        "una pregunta, ",
        "mi pana, ",
        "ey, ",
    ];
    const CLOSERS: &[&str] = &[
        " porfa", " 🙏", " jaja", " please", " gracias", "??", " bro", " mi loco",
    ];
    let mut s = String::new();
    if rng.percent(25) {
        s.push_str(OPENERS[rng.below(OPENERS.len())]);
    }
    s.push_str(text);
    if rng.percent(20) {
        s.push_str(CLOSERS[rng.below(CLOSERS.len())]);
    }
    if rng.percent(50) {
        s = s.replace('¿', "");
    }
    if rng.percent(30) {
        s = strip_accents(&s);
    }
    if rng.percent(15) {
        s = capitalize(&s);
    }
    s
}

fn strip_accents(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' => 'a',
            'é' => 'e',
            'í' => 'i',
            'ó' => 'o',
            'ú' => 'u',
            other => other,
        })
        .collect()
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A made-up cédula number in the ddd-ddddddd-d shape.
pub fn fake_cedula(rng: &mut Rng) -> String {
    format!(
        "{:03}-{:07}-{}",
        rng.range(1, 402),
        rng.range(0, 9_999_999),
        rng.range(0, 9)
    )
}

/// A made-up 16-digit card number with a valid Luhn check digit (so PII
/// detectors that verify the checksum see it as a card), grouped or not.
pub fn fake_card(rng: &mut Rng) -> String {
    let mut digits: Vec<u32> = vec![4];
    digits.extend((0..14).map(|_| rng.below(10) as u32));
    digits.push(luhn_check_digit(&digits));
    let text: String = digits.iter().map(|d| char::from(b'0' + *d as u8)).collect();
    let sep = *rng.pick(&[" ", "-", ""]);
    let groups: Vec<&str> = (0..4).map(|i| &text[i * 4..i * 4 + 4]).collect();
    groups.join(sep)
}

/// The digit that makes `payload` followed by it pass the Luhn checksum.
fn luhn_check_digit(payload: &[u32]) -> u32 {
    let sum: u32 = payload
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

/// A made-up local phone number (555 exchange) a user might leave.
pub fn fake_phone(rng: &mut Rng) -> String {
    format!(
        "{}-555-{:04}",
        rng.pick(&["809", "829", "849"]),
        rng.range(1_000, 9_999)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use okla_harness::score::contains_pii;

    #[test]
    fn fake_personal_numbers_are_what_the_gate_detects() {
        let mut rng = Rng::new(5);
        for _ in 0..200 {
            let card = fake_card(&mut rng);
            assert!(contains_pii(&card), "{card}");
            let cedula = fake_cedula(&mut rng);
            assert!(contains_pii(&format!("mi cédula es {cedula}")), "{cedula}");
            assert!(!contains_pii(&fake_phone(&mut rng)));
        }
        assert_eq!(luhn_check_digit(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1]), 3);
    }
}
