//! Copy drills: train-only conversations that make copying from the context the
//! only way to lower the loss (see [`super`]'s docs). The context's prices are
//! drawn uniformly, the first exchange asks for the listing and the answer repeats
//! it verbatim (hundreds of copied tokens per conversation), then price-quoting
//! exchanges follow in the normal answer format: one or two about the single
//! vehicle, or three or four about inventory rows, each naming another row than
//! the last.

use super::answer::Answer;
use super::catalog::Inventory;
use crate::intent::{Intent, Mode};
use okla_formats::rng::SplitMix64 as Rng;

/// Intents whose answers quote the single vehicle's price.
const PRICE_QUOTING: [Intent; 3] = [
    Intent::VehiclePrice,
    Intent::CashPurchase,
    Intent::NegotiatePrice,
];

/// Lowest and highest drill price, in tens of thousands of pesos.
const PRICE_RANGE: (u64, u64) = (30, 650);

/// Give every vehicle a uniformly drawn price (RD$300,000–6,500,000).
pub fn reprice(rng: &mut Rng, inventory: &mut Inventory) {
    for vehicle in &mut inventory.vehicles {
        vehicle.price = rng.range(PRICE_RANGE.0, PRICE_RANGE.1) * 10_000;
    }
}

/// Intents whose answers are about one vehicle and carry its `vehicleId`.
const ONE_VEHICLE: [Intent; 5] = [
    Intent::VehiclePrice,
    Intent::CashPurchase,
    Intent::NegotiatePrice,
    Intent::VehicleDetails,
    Intent::FinancingInfo,
];

/// The intents after the listing. SingleVehicle: one or two distinct
/// price-quoting ones. DealerInventory: three or four one-vehicle ones, never
/// the same twice in a row (the scene switches vehicle at each of them).
pub fn intents(rng: &mut Rng, mode: Mode) -> Vec<Intent> {
    if mode == Mode::DealerInventory {
        let count = rng.range(3, 4) as usize;
        let mut plan: Vec<Intent> = Vec::with_capacity(count);
        while plan.len() < count {
            let next = *rng.pick(&ONE_VEHICLE);
            if plan.last() != Some(&next) {
                plan.push(next);
            }
        }
        return plan;
    }
    let first = *rng.pick(&PRICE_QUOTING);
    let mut plan = vec![first];
    let second = *rng.pick(&PRICE_QUOTING);
    if rng.percent(50) && second != first {
        plan.push(second);
    }
    plan
}

/// The opening exchange: the user asks for the listing, the answer copies the
/// system prompt's vehicle or inventory block line for line.
pub fn listing_exchange(rng: &mut Rng, mode: Mode, system: &str) -> (String, Answer) {
    let (header, user, intent) = match mode {
        Mode::SingleVehicle => (
            "VEHÍCULO EN CONTEXTO:",
            rng.pick(&[
                "pásame la ficha del vehículo tal cual",
                "copia aquí los datos del carro",
                "¿me repites los datos publicados?",
            ]),
            Intent::VehicleDetails,
        ),
        Mode::DealerInventory => (
            "INVENTARIO DISPONIBLE",
            rng.pick(&[
                "pásame el inventario completo tal cual",
                "copia aquí la lista de vehículos",
                "¿me repites todo el inventario?",
            ]),
            Intent::VehicleSearch,
        ),
    };
    let answer = Answer::new(
        intent,
        format!(
            "Estos son los datos tal como están publicados:\n{}\n\n*Precios de referencia, sujetos a confirmación con el dealer.",
            block_after(system, header)
        ),
        90,
    );
    (user.to_string(), answer)
}

/// The lines after the line starting with `header`, up to the next blank line.
fn block_after<'a>(text: &'a str, header: &str) -> &'a str {
    let start = text
        .find(header)
        .and_then(|at| text[at..].find('\n').map(|nl| at + nl + 1))
        .unwrap_or(text.len());
    let len = text[start..].find("\n\n").unwrap_or(text.len() - start);
    &text[start..start + len]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_is_the_lines_between_header_and_blank_line() {
        let text = "intro\n\nVEHÍCULO EN CONTEXTO:\n- ID: OK-1\n- Precio: RD$1,000\n\nREGLAS";
        assert_eq!(
            block_after(text, "VEHÍCULO EN CONTEXTO:"),
            "- ID: OK-1\n- Precio: RD$1,000"
        );
        assert_eq!(block_after(text, "missing"), "");
    }
}
