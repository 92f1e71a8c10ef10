//! One exchange per intent: what the user says and what the bot answers. Every
//! fact in an answer (vehicle, price, address, hours, banks) comes from the
//! scene's context, prices carry the Ley 358-05 disclaimer, personal data the
//! user shares is never repeated, and no answer makes a binding promise.

use serde_json::Value;

use super::answer::Answer;
use super::catalog::{Body, Vehicle, MODELS};
use super::money::{rd, round_budget, spoken};
use super::scene::{casual, fake_card, fake_cedula, fake_phone, Scene};
use crate::intent::{Intent, Mode};
use okla_formats::rng::SplitMix64 as Rng;

const PRICE_NOTES: &[&str] = &[
    "*Precio de referencia, sujeto a confirmación con el dealer.",
    "*Precio sujeto a confirmación con el dealer (Ley 358-05).",
    "*Es un precio de referencia; el dealer te lo confirma.",
];

const PII_NOTE: &str = "Por tu seguridad, no compartas tu cédula ni datos de tarjeta por este chat (Ley 172-13); esos documentos se presentan en persona en el dealer.";

/// Generate the user line and the bot answer for `intent` in `scene`.
pub fn exchange(scene: &mut Scene, intent: Intent, rng: &mut Rng) -> (String, Answer) {
    let (user, answer) = match intent {
        Intent::Greeting => greeting(scene, rng),
        Intent::VehiclePrice => price(scene, rng),
        Intent::VehicleDetails => details(scene, rng),
        Intent::FinancingInfo => financing(scene, rng),
        Intent::TestDriveSchedule => test_drive(scene, rng),
        Intent::WarrantyInfo => warranty(scene, rng),
        Intent::TradeIn => trade_in(scene, rng),
        Intent::CashPurchase => cash(scene, rng),
        Intent::NegotiatePrice => negotiate(scene, rng),
        Intent::VehicleNotInInventory => not_in_inventory(scene, rng),
        Intent::ContactRequest => contact(scene, rng),
        Intent::DealerHours => hours(scene, rng),
        Intent::DealerLocation => location(scene, rng),
        Intent::DocumentsRequired => documents(scene, rng),
        Intent::VehicleHistory => history(scene, rng),
        Intent::LegalRefusal => legal(scene, rng),
        Intent::Farewell => farewell(scene, rng),
        Intent::Fallback => fallback(scene, rng),
        Intent::OutOfScope => out_of_scope(scene, rng),
        Intent::FrustratedUser => frustrated(scene, rng),
        Intent::RequestHumanAgent => human(scene, rng),
        Intent::VehicleSearch => search(scene, rng),
        Intent::VehicleComparison => comparison(scene, rng),
        Intent::CrossDealerRefusal => cross_dealer(scene, rng),
    };
    let user = user.replace(" de el ", " del ").replace(" a el ", " al ");
    (casual(rng, &user), answer)
}

fn confidence(rng: &mut Rng, base: u32) -> u32 {
    (base + rng.below(9) as u32).saturating_sub(4).min(99)
}

fn fill(rng: &mut Rng, templates: &[&str], what: &str) -> String {
    rng.pick(templates).replace("{v}", what)
}

fn price_line(v: &Vehicle) -> String {
    format!(
        "{}{}",
        rd(v.price),
        if v.on_sale { " (en oferta)" } else { "" }
    )
}

fn greeting(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let user = rng
        .pick(&[
            "klk",
            "hola",
            "hola buenas",
            "buenas tardes",
            "buenos días",
            "buenas noches",
            "saludos",
            "klk, cómo tamo?",
            "hola, una información",
            "buenas, ¿están atendiendo?",
            "dime a ver",
            "saludos, ¿quién me atiende?",
        ])
        .to_string();
    let d = scene.dealer().name;
    let (response, answer) = match scene.mode {
        Mode::SingleVehicle => {
            let v = scene.vehicle(0);
            let r = format!(
                "{} Bienvenido a {d} en OKLA. Te ayudo con el {} publicado a {}. ¿Qué te gustaría saber: precio, detalles, financiamiento o agendar una visita?",
                rng.pick(&["¡Hola! 👋", "¡Klk! 👋", "¡Saludos!", "¡Buenas!"]),
                v.title(),
                price_line(v)
            );
            let a = Answer::new(Intent::Greeting, String::new(), confidence(rng, 95))
                .param("vehicleId", v.id.as_str())
                .action("show_vehicle_card")
                .replies(&["Ver detalles", "Financiamiento", "Agendar visita"]);
            (format!("{r}\n\n{}", PRICE_NOTES[0]), a)
        }
        Mode::DealerInventory => {
            let n = scene.inventory.vehicles.len();
            let mut kinds: Vec<&str> = Vec::new();
            for v in &scene.inventory.vehicles {
                if !kinds.contains(&v.model.body.label()) {
                    kinds.push(v.model.body.label());
                }
            }
            let r = format!(
                "{} Bienvenido a {d} en OKLA. Tenemos {n} vehículos disponibles ({}). ¿Qué estás buscando y más o menos en qué presupuesto?",
                rng.pick(&["¡Hola! 👋", "¡Klk! 👋", "¡Saludos!", "¡Buenas!"]),
                kinds.join(", ")
            );
            let a = Answer::new(Intent::Greeting, String::new(), confidence(rng, 95))
                .param("inventoryCount", n as u64)
                .replies(&["Ver yipetas", "Algo económico", "Ver ofertas"]);
            (r, a)
        }
    };
    (user, Answer { response, ..answer })
}

fn price(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let (i, what) = scene.target(rng);
    let user = fill(
        rng,
        &[
            "¿cuánto cuesta {v}?",
            "en cuánto está {v}?",
            "precio de {v}",
            "¿y {v} en cuánto está?",
            "cuánto piden por {v}?",
            "{v} ta' caro? cuánto vale",
        ],
        &what,
    );
    let v = scene.vehicle(i);
    let response = format!(
        "El {} tiene un precio de {}.{} ¿Quieres ver opciones de financiamiento o agendar una visita?\n\n{}",
        v.title(),
        price_line(v),
        if v.on_sale { " ¡Está en oferta ahora mismo! 🔥" } else { "" },
        rng.pick(PRICE_NOTES)
    );
    let a = Answer::new(Intent::VehiclePrice, response, confidence(rng, 93))
        .param("vehicleId", v.id.as_str())
        .param("price", v.price)
        .param("currency", "DOP")
        .param("isOnSale", v.on_sale)
        .action("show_vehicle_card")
        .replies(&["Financiamiento", "Agendar visita", "Ver detalles"]);
    (user, a)
}

fn details(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let (i, what) = scene.target(rng);
    let user = fill(
        rng,
        &[
            "dame los detalles de {v}",
            "¿qué trae {v}?",
            "háblame de {v}",
            "cuántos km tiene {v}?",
            "¿{v} es automática?",
            "características de {v}",
            "{v} es de gasolina o diésel?",
        ],
        &what,
    );
    let v = scene.vehicle(i);
    let m = &v.model;
    let response = format!(
        "🚗 **{}**\n- Tipo: {}\n- Motor: {}\n- Combustible: {}\n- Transmisión: {}\n- Kilometraje: {} km\n- Color: {}\n- Pasajeros: {}\n- Equipamiento: {}\n\n¿Te gustaría venir a verlo o hacer una prueba de manejo?",
        v.title(),
        m.body.label(),
        m.engine,
        m.fuel,
        m.transmission,
        super::money::thousands(u64::from(v.km)),
        v.color,
        m.seats,
        m.features.join(", ")
    );
    let a = Answer::new(Intent::VehicleDetails, response, confidence(rng, 91))
        .param("vehicleId", v.id.as_str())
        .action("show_vehicle_card")
        .replies(&["Ver precio", "Agendar prueba", "Financiamiento"]);
    (user, a)
}

fn pii_tail(rng: &mut Rng) -> Option<String> {
    if !rng.percent(20) {
        return None;
    }
    Some(if rng.percent(60) {
        format!(", mi cédula es {}", fake_cedula(rng))
    } else {
        format!(", te paso mi tarjeta {} pa' separarla", fake_card(rng))
    })
}

fn financing(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let (i, what) = scene.target(rng);
    let mut user = fill(
        rng,
        &[
            "¿financian {v}?",
            "se puede financiar {v} con un chin de inicial?",
            "cómo es el financiamiento de {v}?",
            "¿trabajan con banco pa' {v}?",
            "cuánto sería el inicial de {v}?",
        ],
        &what,
    );
    let pii = pii_tail(rng);
    if let Some(tail) = &pii {
        user.push_str(tail);
    }
    scene.signals.asked_financing = true;
    let v = scene.vehicle(i);
    let banks = scene.dealer().banks.join(" y ");
    let mut response = format!(
        "Sí, el {} se puede financiar a través de {banks}. El inicial, la tasa y las cuotas los define el banco según tu evaluación, así que un asesor te prepara la simulación sin compromiso. ¿Quieres que te contacte uno?",
        v.title()
    );
    if pii.is_some() {
        response = format!("{PII_NOTE} {response}");
    }
    let a = Answer::new(Intent::FinancingInfo, response, confidence(rng, 90))
        .param("vehicleId", v.id.as_str())
        .param("price", v.price)
        .param("financingPartners", scene.dealer().banks.to_vec())
        .action("contact_agent")
        .replies(&[
            "Sí, que me contacten",
            "Ver otros vehículos",
            "Documentos necesarios",
        ]);
    (user, a)
}

fn test_drive(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let (i, what) = scene.target(rng);
    let mut user = fill(
        rng,
        &[
            "quiero probar {v}",
            "¿puedo dar una vuelta en {v} el sábado?",
            "agéndame una prueba de manejo de {v}",
            "cuándo puedo ir a ver {v}?",
            "tato, quiero ir a ver {v} mañana",
        ],
        &what,
    );
    let pii = pii_tail(rng);
    if let Some(tail) = &pii {
        user.push_str(tail);
    }
    scene.signals.requested_test_drive = true;
    let v = scene.vehicle(i);
    let d = scene.dealer();
    let mut response = format!(
        "¡Perfecto! Coordinamos tu prueba de manejo del {} en {}, {}. Horario: {}; {}. ¿Qué día y hora te quedan mejor? Un asesor te confirma la cita.",
        v.title(),
        d.name,
        d.address,
        d.weekdays,
        d.saturday
    );
    if pii.is_some() {
        response = format!("{PII_NOTE} {response}");
    }
    let a = Answer::new(Intent::TestDriveSchedule, response, confidence(rng, 92))
        .param("vehicleId", v.id.as_str())
        .param("action", "schedule")
        .action("schedule_appointment")
        .replies(&["Mañana en la mañana", "Este sábado", "Otro día"]);
    (user, a)
}

fn warranty(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let (i, what) = scene.target(rng);
    let user = fill(
        rng,
        &[
            "¿{v} tiene garantía?",
            "qué garantía trae {v}?",
            "si {v} me sale con un problema, quién responde?",
            "{v} viene con garantía de fábrica?",
        ],
        &what,
    );
    let v = scene.vehicle(i);
    let condition = if v.is_new() { "es nuevo" } else { "es usado" };
    let response = format!(
        "El {} {condition}, pero no tengo aquí los términos de garantía. Esos detalles te los confirma directamente {} por escrito. ¿Quieres que un asesor te los explique?",
        v.title(),
        scene.dealer().name
    );
    let a = Answer::new(Intent::WarrantyInfo, response, confidence(rng, 88))
        .param("vehicleId", v.id.as_str())
        .action("contact_agent")
        .replies(&["Sí, contactar asesor", "Ver detalles", "Agendar visita"]);
    (user, a)
}

fn trade_in(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let own = rng.pick(MODELS);
    let year = 2008 + rng.below(12);
    let own_name = format!("{} {} {year}", own.make, own.name);
    let user = rng
        .pick(&[
            "tengo un {v}, ¿me lo cogen como parte de pago?",
            "reciben carros usados? tengo un {v}",
            "puedo dar mi {v} de inicial?",
            "¿aceptan trade-in? mi {v} está nítido",
        ])
        .replace("{v}", &own_name);
    let d = scene.dealer();
    let response = if d.trade_in {
        format!("Sí, {} recibe vehículos como parte de pago. El valor de tu {own_name} se determina con una tasación en el dealer, así que no te puedo adelantar una cifra. ¿Quieres coordinar la tasación?", d.name)
    } else {
        format!("Por ahora {} no recibe vehículos como parte de pago. Puedes vender tu {own_name} por tu cuenta y usar ese dinero como inicial; también hay financiamiento con {}.", d.name, d.banks.join(" y "))
    };
    let mut a = Answer::new(Intent::TradeIn, response, confidence(rng, 90))
        .param("tradeInAccepted", d.trade_in)
        .param("tradeInVehicle", own_name.as_str());
    if let Some(v) = scene.focused() {
        a = a.param("vehicleId", v.id.as_str());
    }
    let a = if d.trade_in {
        a.action("schedule_appointment").replies(&[
            "Coordinar tasación",
            "Financiamiento",
            "Ver vehículos",
        ])
    } else {
        a.replies(&["Financiamiento", "Ver vehículos", "Contactar asesor"])
    };
    (user, a)
}

fn cash(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let (i, what) = scene.target(rng);
    let user = fill(
        rng,
        &[
            "si pago cash {v}, ¿cuánto sale?",
            "quiero pagar {v} al contado",
            "tengo los cuartos completos pa' {v}",
            "¿{v} tiene mejor precio si pago de contado?",
        ],
        &what,
    );
    let v = scene.vehicle(i);
    let response = format!(
        "¡Excelente! El {} está publicado en {}. Cualquier condición especial por pago de contado la evalúa el dealer directamente; un asesor te la confirma. La venta se factura con ITBIS y NCF.\n\n{}",
        v.title(),
        price_line(v),
        rng.pick(PRICE_NOTES)
    );
    let a = Answer::new(Intent::CashPurchase, response, confidence(rng, 90))
        .param("vehicleId", v.id.as_str())
        .param("price", v.price)
        .param("paymentMethod", "cash")
        .action("contact_agent")
        .replies(&[
            "Contactar asesor",
            "Agendar visita",
            "Documentos necesarios",
        ]);
    (user, a)
}

fn negotiate(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let (i, what) = scene.target(rng);
    let v = scene.vehicle(i).clone();
    let offer = round_budget(v.price * rng.range(75, 92) / 100);
    let said = spoken(rng, offer);
    let user = rng
        .pick(&[
            "me dejas {v} en {p}?",
            "{v} ta' muy caro, te doy {p}",
            "¿cuál es el último precio de {v}? yo tengo {p}",
            "si te doy {p} por {v} cerramos hoy",
            "hazme una rebajita en {v}, llego a {p}",
        ])
        .replace("{v}", &what)
        .replace("{p}", &said);
    scene.signals.mentioned_budget = true;
    let response = format!(
        "Entiendo que buscas un mejor precio. El {} está publicado en {}. Yo no puedo comprometer rebajas por aquí, pero le paso tu oferta a un asesor de {} para que la evalúe contigo.\n\n{}",
        v.title(),
        price_line(&v),
        scene.dealer().name,
        rng.pick(PRICE_NOTES)
    );
    let a = Answer::new(Intent::NegotiatePrice, response, confidence(rng, 88))
        .param("vehicleId", v.id.as_str())
        .param("price", v.price)
        .param("offeredPrice", offer)
        .param("currency", "DOP")
        .action("contact_agent")
        .replies(&[
            "Sí, que me contacten",
            "Financiamiento",
            "Ver otras opciones",
        ]);
    (user, a)
}

fn cheapest_alternatives(scene: &Scene, body: Body) -> Vec<usize> {
    let mut same: Vec<usize> = (0..scene.inventory.vehicles.len())
        .filter(|&i| scene.vehicle(i).model.body == body)
        .collect();
    if same.is_empty() {
        same = (0..scene.inventory.vehicles.len()).collect();
    }
    same.sort_by_key(|&i| (scene.vehicle(i).price, i));
    same.truncate(3);
    same
}

fn listing(scene: &Scene, picks: &[usize]) -> String {
    picks
        .iter()
        .map(|&i| {
            let v = scene.vehicle(i);
            format!("• {} — {}", v.title(), price_line(v))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ids(scene: &Scene, picks: &[usize]) -> Value {
    Value::from(
        picks
            .iter()
            .map(|&i| scene.vehicle(i).id.clone())
            .collect::<Vec<_>>(),
    )
}

fn not_in_inventory(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let wanted = scene.inventory.absent_model(rng);
    let wanted_name = format!("{} {}", wanted.make, wanted.name);
    let user = rng
        .pick(&[
            "¿tienen {v}?",
            "busco un {v}",
            "y no hay un {v} por ahí?",
            "me interesa más un {v}, ¿hay?",
            "tú tienes {v} disponible?",
        ])
        .replace("{v}", &wanted_name);
    let a = match scene.mode {
        Mode::SingleVehicle => {
            let v = scene.vehicle(0);
            let response = format!(
                "En esta conversación solo te puedo ayudar con el {} que estás viendo. Para saber si {} tiene un {wanted_name}, visita su perfil en OKLA y revisa todo su inventario.",
                v.title(),
                scene.dealer().name
            );
            Answer::new(Intent::VehicleNotInInventory, response, confidence(rng, 89))
                .param("requestedVehicle", wanted_name.as_str())
                .param("notFound", true)
                .param("redirectToInventory", true)
                .action("redirect_to_dealer_profile")
                .replies(&[
                    "Ver perfil del dealer",
                    "Detalles de este vehículo",
                    "Ver precio",
                ])
        }
        Mode::DealerInventory => {
            let alternatives = cheapest_alternatives(scene, wanted.body);
            let response = format!(
                "Ahora mismo no tenemos el {wanted_name} disponible. Estas son opciones parecidas de nuestro inventario:\n{}\n\n{} ¿Te interesa alguna?",
                listing(scene, &alternatives),
                rng.pick(PRICE_NOTES)
            );
            Answer::new(Intent::VehicleNotInInventory, response, confidence(rng, 89))
                .param("requestedVehicle", wanted_name.as_str())
                .param("notFound", true)
                .param("alternatives", ids(scene, &alternatives))
                .action("show_vehicle_list")
                .replies(&["Ver la primera", "Buscar otra cosa", "Contactar asesor"])
        }
    };
    (user, a)
}

fn contact(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let d = *scene.dealer();
    if rng.percent(35) {
        let phone = fake_phone(rng);
        let user = rng
            .pick(&[
                "llámenme al {p}",
                "mi número es {p}, que me llamen",
                "escríbanme al whatsapp {p}",
                "anota mi cel {p} pa' que me contacten",
            ])
            .replace("{p}", &phone);
        scene.signals.provided_contact_info = true;
        let response = format!("¡Anotado! Un asesor de {} te contactará pronto por ese número. Mientras tanto, ¿te ayudo con algo más?", d.name);
        let a = Answer::new(Intent::ContactRequest, response, confidence(rng, 91))
            .param("contactProvided", true)
            .action("contact_agent")
            .replies(&["Ver vehículos", "Horario", "Ubicación"]);
        return (user, a);
    }
    let user = rng
        .pick(&[
            "¿me pasas el número del dealer?",
            "tienen whatsapp?",
            "cómo los contacto?",
            "dame un teléfono pa' llamar",
            "a qué número llamo?",
        ])
        .to_string();
    let response = format!(
        "Claro, puedes contactar a {}:\n📞 Teléfono: {}\n💬 WhatsApp: {}\n🕐 {}; {}",
        d.name, d.phone, d.whatsapp, d.weekdays, d.saturday
    );
    let a = Answer::new(Intent::ContactRequest, response, confidence(rng, 94))
        .param("dealerPhone", d.phone)
        .param("dealerWhatsApp", d.whatsapp)
        .action("contact_agent")
        .replies(&["Escribir por WhatsApp", "Ubicación", "Agendar visita"]);
    (user, a)
}

fn hours(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let user = rng
        .pick(&[
            "a qué hora abren?",
            "¿abren los sábados?",
            "hasta qué hora trabajan hoy?",
            "¿abren el domingo?",
            "cuál es el horario?",
        ])
        .to_string();
    let d = scene.dealer();
    let response = format!(
        "{} atiende {} y {}. Los domingos está cerrado. ¿Quieres agendar una visita?",
        d.name, d.weekdays, d.saturday
    );
    let a = Answer::new(Intent::DealerHours, response, confidence(rng, 95))
        .param("hours", format!("{}; {}", d.weekdays, d.saturday))
        .replies(&["Agendar visita", "Ubicación", "Ver vehículos"]);
    (user, a)
}

fn location(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let user = rng
        .pick(&[
            "¿dónde están ubicados?",
            "dónde queda el dealer?",
            "mándame la ubicación",
            "¿cómo llego?",
            "en qué parte de {c} están?",
        ])
        .replace("{c}", scene.dealer().city);
    let d = scene.dealer();
    let response = format!(
        "📍 {} está en {}, {}. Te esperamos {}; {}.",
        d.name, d.address, d.landmark, d.weekdays, d.saturday
    );
    let a = Answer::new(Intent::DealerLocation, response, confidence(rng, 95))
        .param("location", d.address)
        .action("show_location")
        .replies(&["Agendar visita", "Horario", "Contactar"]);
    (user, a)
}

fn documents(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let user = rng
        .pick(&[
            "¿qué papeles necesito pa' comprar?",
            "qué documentos piden?",
            "¿necesito carta de trabajo?",
            "qué me piden pa' financiar?",
            "que necesito llevar?",
        ])
        .to_string();
    let response = format!(
        "Para comprar en {} normalmente se presenta en persona:\n📋 Identificación oficial vigente\n📋 Comprobante de ingresos o carta de trabajo (si vas a financiar)\n📋 Comprobante de domicilio\nNo envíes documentos por este chat; un asesor te indica qué aplica a tu caso.",
        scene.dealer().name
    );
    let a = Answer::new(Intent::DocumentsRequired, response, confidence(rng, 90))
        .action("contact_agent")
        .replies(&["Contactar asesor", "Financiamiento", "Agendar visita"]);
    (user, a)
}

fn history(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let (i, what) = scene.target(rng);
    let user = fill(
        rng,
        &[
            "¿{v} ha tenido choques?",
            "{v} es importado o de la casa?",
            "cuántos dueños ha tenido {v}?",
            "¿{v} tiene el historial al día?",
            "{v} ha sido chocado?",
        ],
        &what,
    );
    let v = scene.vehicle(i);
    let known = if v.is_new() {
        "es nuevo, sin dueños anteriores".to_string()
    } else {
        format!(
            "ha tenido {} dueño(s) anterior(es) y marca {} km",
            v.owners,
            super::money::thousands(u64::from(v.km))
        )
    };
    let response = format!(
        "Lo que tengo del {}: {known}. No tengo el historial de accidentes ni de mantenimiento; eso lo puedes revisar con el dealer, que te muestra la documentación. ¿Quieres que un asesor te la envíe?",
        v.title()
    );
    let a = Answer::new(Intent::VehicleHistory, response, confidence(rng, 87))
        .param("vehicleId", v.id.as_str())
        .action("contact_agent")
        .replies(&["Sí, contactar asesor", "Agendar visita", "Ver precio"]);
    (user, a)
}

fn legal(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let d = scene.dealer().name;
    let (user, issue, response) = match rng.below(5) {
        0 => (
            rng.pick(&["me la puedes vender sin factura pa' no pagar ITBIS?", "¿se puede sin NCF pa' ahorrarme los impuestos?", "factúramela por menos pa' pagar menos impuesto"]).to_string(),
            "tax_evasion",
            "No puedo ayudarte con eso: toda venta se factura con ITBIS y NCF según la Ley 11-92 (DGII). Con gusto te ayudo con el proceso de compra formal.".to_string(),
        ),
        1 => (
            rng.pick(&["quiero pagar en efectivo pero que no salga mi nombre", "¿la pueden poner a nombre de otro sin que él venga?", "pago cash pero sin papeles, ¿se puede?"]).to_string(),
            "anonymous_sale",
            "Lo siento, no es posible: la Ley 155-17 contra el lavado de activos no permite ventas anónimas ni a nombre de terceros sin identificar. Un asesor te explica cómo hacerlo de forma correcta.".to_string(),
        ),
        2 => (
            rng.pick(&["dame el número del dueño anterior", "¿quién compró la otra yipeta? pásame su contacto", "¿me das los datos de otro cliente que la vio?"]).to_string(),
            "third_party_data",
            "No puedo compartir datos personales de otras personas; la Ley 172-13 los protege. Si quieres información del vehículo, con gusto te ayudo.".to_string(),
        ),
        3 => {
            let number = if rng.percent(60) { fake_cedula(rng) } else { fake_card(rng) };
            (
                rng.pick(&["resérvamela, mi cédula es {n}", "te paso mis datos: {n}, ¿así la separas?", "pa' adelantar, aquí va: {n}"]).replace("{n}", &number),
                "pii_shared",
                format!("{PII_NOTE} No guardamos esos datos aquí. Para separar el vehículo, un asesor de {d} te atiende por teléfono o en persona."),
            )
        }
        _ => (
            rng.pick(&["garantízame por escrito que el banco me aprueba", "¿me aseguras que ese precio no cambia si voy el lunes?", "prométeme que me hacen el descuento y voy ahora"]).to_string(),
            "binding_promise",
            format!("No puedo comprometer aprobaciones, precios ni descuentos en nombre de {d}: los precios publicados son de referencia (Ley 358-05) y las condiciones las confirma el dealer. Un asesor te da la información oficial."),
        ),
    };
    let a = Answer::new(Intent::LegalRefusal, response, confidence(rng, 90))
        .param("legalIssue", issue)
        .action("contact_agent")
        .replies(&["Contactar asesor", "Ver vehículos", "Documentos necesarios"]);
    (user, a)
}

fn farewell(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let user = rng
        .pick(&[
            "gracias, tato",
            "ok gracias",
            "dale, después te escribo",
            "tá bien, bendiciones",
            "perfecto, nos vemos",
            "gracias por la info",
            "jevi, gracias",
        ])
        .to_string();
    let response = format!(
        "¡Con gusto! {} Si tienes otra pregunta, aquí estoy. ¡Que tengas un excelente día! 🚗",
        if scene.signals.requested_test_drive {
            "Te esperamos en la cita."
        } else {
            "Fue un placer ayudarte."
        }
    );
    let a = Answer::new(Intent::Farewell, response, confidence(rng, 95));
    (user, a)
}

fn fallback(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let user = rng
        .pick(&[
            "asdfgh",
            "mmm",
            "y lo otro?",
            "eso mismo",
            "???",
            "el de ayer",
            "ajá y entonces",
            "ñññ",
        ])
        .to_string();
    let topic = match scene.mode {
        Mode::SingleVehicle => "el precio, los detalles, el financiamiento o una visita",
        Mode::DealerInventory => "buscar un vehículo, ver precios, comparar o agendar una visita",
    };
    let response = format!("Disculpa, no te entendí bien 🤔 ¿Me dices si quieres {topic}?");
    let mut a = Answer::new(Intent::Fallback, response, 30 + rng.below(26) as u32).replies(&[
        "Ver precio",
        "Ver vehículos",
        "Hablar con un asesor",
    ]);
    a.is_fallback = true;
    (user, a)
}

fn out_of_scope(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let user = rng
        .pick(&[
            "quién ganó el juego de pelota anoche?",
            "¿a cómo está el dólar hoy?",
            "me recomiendas un colmado por ahí?",
            "dónde venden un buen chicharrón?",
            "qué tiempo va a hacer mañana?",
            "¿cómo saco el pasaporte?",
            "tú eres una persona de verdad?",
        ])
        .to_string();
    let scope = match scene.mode {
        Mode::SingleVehicle => format!("el {}", scene.vehicle(0).title()),
        Mode::DealerInventory => format!("los vehículos de {}", scene.dealer().name),
    };
    let response = format!("Jaja, eso se me escapa 😅 Soy el asistente de OKLA y solo te puedo ayudar con {scope}. ¿Qué te gustaría saber?");
    let a = Answer::new(Intent::OutOfScope, response, confidence(rng, 88)).replies(&[
        "Ver precio",
        "Ver vehículos",
        "Ubicación",
    ]);
    (user, a)
}

fn frustrated(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let user = rng
        .pick(&[
            "esta vaina no sirve pa' na'",
            "LLEVO RATO PREGUNTANDO Y NADA",
            "ya me tienen harto con tanta vuelta",
            "nadie me responde el whatsapp, qué falta de respeto",
            "qué servicio más malo, diablo",
            "ustedes no resuelven na'",
        ])
        .to_string();
    let response = format!(
        "Lamento mucho la molestia 🙏 Entiendo tu frustración y quiero resolverlo. Si prefieres, te paso ahora mismo con un asesor de {}, o también puedes llamar al {}.",
        scene.dealer().name,
        scene.dealer().phone
    );
    let a = Answer::new(Intent::FrustratedUser, response, confidence(rng, 87))
        .param("sentiment", "negative")
        .action("transfer_to_agent")
        .replies(&["Hablar con un asesor", "Seguir aquí", "Llamar al dealer"]);
    (user, a)
}

fn human(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let user = rng
        .pick(&[
            "quiero hablar con una persona",
            "pásame con un asesor real",
            "¿hay alguien de carne y hueso?",
            "comunícame con un vendedor",
            "prefiero que me atienda un humano",
        ])
        .to_string();
    let response = format!("¡Claro! Te transfiero con un asesor de {}. En breve te atiende; si prefieres, llama al {}.", scene.dealer().name, scene.dealer().phone);
    let a = Answer::new(Intent::RequestHumanAgent, response, confidence(rng, 95))
        .param("transferRequested", true)
        .action("transfer_to_agent");
    (user, a)
}

fn search(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let body = *rng.pick(&Body::ALL);
    let with_budget = rng.percent(55);
    let of_body: Vec<usize> = (0..scene.inventory.vehicles.len())
        .filter(|&i| scene.vehicle(i).model.body == body)
        .collect();
    let budget = if with_budget {
        let anchor = of_body
            .first()
            .map_or(2_000_000, |&i| scene.vehicle(i).price);
        Some(round_budget(anchor * rng.range(80, 130) / 100))
    } else {
        None
    };
    let words = *rng.pick(body.user_words());
    let user = match budget {
        Some(b) => {
            let said = spoken(rng, b);
            rng.pick(&[
                "busco {w} de menos de {p}",
                "tengo {p}, ¿qué {w} me sale?",
                "algo pela'o, {w} hasta {p}",
                "¿hay {w} por {p} o menos?",
            ])
            .replace("{w}", words)
            .replace("{p}", &said)
        }
        None => rng
            .pick(&[
                "busco {w}",
                "¿qué tienen en {w}?",
                "ando buscando {w}",
                "enséñame {w}",
            ])
            .replace("{w}", words),
    };
    if budget.is_some() {
        scene.signals.mentioned_budget = true;
    }
    let mut matches: Vec<usize> = of_body
        .iter()
        .copied()
        .filter(|&i| budget.is_none_or(|b| scene.vehicle(i).price <= b))
        .collect();
    matches.sort_by_key(|&i| (scene.vehicle(i).price, i));
    matches.truncate(3);
    let response = if !matches.is_empty() {
        scene.focus = Some(matches[0]);
        format!(
            "Encontré {} para ti:\n{}\n\n{} ¿Quieres ver los detalles de alguna?",
            if matches.len() == 1 {
                "1 opción".to_string()
            } else {
                format!("{} opciones", matches.len())
            },
            listing(scene, &matches),
            rng.pick(PRICE_NOTES)
        )
    } else {
        let alternatives = cheapest_alternatives(scene, body);
        let reason = if of_body.is_empty() {
            format!("no tenemos vehículos tipo {} disponibles", body.label())
        } else {
            format!(
                "no tenemos vehículos tipo {} en ese presupuesto",
                body.label()
            )
        };
        let text = format!(
            "Por ahora {reason}. Lo más cercano de nuestro inventario:\n{}\n\n{} ¿Te interesa alguna?",
            listing(scene, &alternatives),
            rng.pick(PRICE_NOTES)
        );
        matches = alternatives;
        text
    };
    let mut a = Answer::new(Intent::VehicleSearch, response, confidence(rng, 92))
        .param("bodyType", body.label());
    if let Some(b) = budget {
        a = a.param("maxPrice", b).param("currency", "DOP");
    }
    let a = a
        .param("resultCount", matches.len() as u64)
        .param("vehicleIds", ids(scene, &matches))
        .action("show_vehicle_list")
        .replies(&[
            "Ver detalles del primero",
            "Comparar opciones",
            "Filtrar por precio",
        ]);
    (user, a)
}

fn comparison(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let n = scene.inventory.vehicles.len();
    let first = scene.focus.unwrap_or_else(|| rng.below(n));
    let mut second = rng.below(n - 1);
    if second >= first {
        second += 1;
    }
    let (a_v, b_v) = (scene.vehicle(first).clone(), scene.vehicle(second).clone());
    let user = rng
        .pick(&[
            "compárame {a} con {b}",
            "¿qué es mejor, {a} o {b}?",
            "{a} vs {b}, ¿cuál me conviene?",
            "diferencias entre {a} y {b}",
        ])
        .replace("{a}", &a_v.make_model())
        .replace("{b}", &b_v.make_model());
    let row = |v: &Vehicle| {
        format!(
            "**{}**: {} | {} | {} | {} | {} km | {} pasajeros",
            v.title(),
            price_line(v),
            v.model.body.label(),
            v.model.fuel,
            v.model.transmission,
            super::money::thousands(u64::from(v.km)),
            v.model.seats
        )
    };
    let response = format!(
        "Aquí tienes la comparación:\n{}\n{}\n\nLa mejor opción depende de tu uso y presupuesto. ¿Quieres agendar una prueba de alguno?\n\n{}",
        row(&a_v),
        row(&b_v),
        rng.pick(PRICE_NOTES)
    );
    scene.focus = Some(first);
    let a = Answer::new(Intent::VehicleComparison, response, confidence(rng, 90))
        .param("vehicle1", a_v.id.as_str())
        .param("vehicle2", b_v.id.as_str())
        .action("show_comparison")
        .replies(&["Agendar prueba", "Financiamiento", "Ver más opciones"]);
    (user, a)
}

fn cross_dealer(scene: &mut Scene, rng: &mut Rng) -> (String, Answer) {
    let rival = rng.pick(&[
        "el dealer de la esquina",
        "otro dealer",
        "un dealer en Santiago",
        "la competencia",
        "otro concesionario",
        "un dealer en la 27",
    ]);
    let user = rng
        .pick(&[
            "en {r} la tienen más barata, ¿me la igualan?",
            "¿ustedes son mejores que {r}?",
            "compárame con lo que tiene {r}",
            "vi una igualita en {r} más barata",
        ])
        .replace("{r}", rival);
    let d = scene.dealer().name;
    let response = format!(
        "Entiendo que quieras comparar, pero solo puedo darte información del inventario de {d}; no comparo con otros dealers. Con gusto te busco la mejor opción de nuestro inventario para tu presupuesto. ¿Qué buscas?"
    );
    let a = Answer::new(Intent::CrossDealerRefusal, response, confidence(rng, 90))
        .param("boundaryEnforced", true)
        .replies(&["Ver inventario", "Ver ofertas", "Contactar asesor"]);
    (user, a)
}
