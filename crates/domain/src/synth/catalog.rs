//! The fictional world the generator draws from: vehicle models, dealers, and
//! the inventories built from them. Every name, address and phone here is made up.

use okla_formats::rng::SplitMix64 as Rng;

/// A body type, with the words a Dominican customer uses for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// Sedan.
    Sedan,
    /// SUV ("yipeta").
    Suv,
    /// Pickup ("camioneta").
    Pickup,
    /// Hatchback.
    Hatchback,
    /// Van or minibus ("guagua").
    Van,
}

impl Body {
    /// The label shown in prompts and `parameters.bodyType`.
    pub fn label(self) -> &'static str {
        match self {
            Body::Sedan => "Sedán",
            Body::Suv => "SUV",
            Body::Pickup => "Pickup",
            Body::Hatchback => "Hatchback",
            Body::Van => "Minivan",
        }
    }

    /// How users ask for it.
    pub fn user_words(self) -> &'static [&'static str] {
        match self {
            Body::Sedan => &[
                "un carro sedán",
                "un sedán",
                "un carrito cómodo",
                "un carro pa' la familia",
            ],
            Body::Suv => &["una yipeta", "una yipetica", "una SUV", "una yipeta jevi"],
            Body::Pickup => &[
                "una camioneta",
                "una pickup",
                "una camioneta de trabajo",
                "una doble cabina",
            ],
            Body::Hatchback => &[
                "un carrito pequeño",
                "un hatchback",
                "algo chiquito pa' la ciudad",
            ],
            Body::Van => &[
                "una guagua",
                "una guagua pa' la familia",
                "una minivan",
                "una guagüita de pasajeros",
            ],
        }
    }

    /// Every body type.
    pub const ALL: [Body; 5] = [
        Body::Sedan,
        Body::Suv,
        Body::Pickup,
        Body::Hatchback,
        Body::Van,
    ];
}

/// A model in the catalogue (new-vehicle list price in DOP for the current year).
#[derive(Debug, Clone, Copy)]
pub struct Model {
    /// Brand.
    pub make: &'static str,
    /// Model name.
    pub name: &'static str,
    /// Body type.
    pub body: Body,
    /// Trims on offer.
    pub trims: &'static [&'static str],
    /// Engine description.
    pub engine: &'static str,
    /// Fuel.
    pub fuel: &'static str,
    /// Transmission.
    pub transmission: &'static str,
    /// Seats.
    pub seats: u8,
    /// List price new, in DOP.
    pub base_price: u64,
    /// Notable equipment, one phrase each.
    pub features: &'static [&'static str],
}

macro_rules! model {
    ($make:expr, $name:expr, $body:ident, [$($trim:expr),+], $engine:expr, $fuel:expr, $tr:expr, $seats:expr, $price:expr, [$($f:expr),+]) => {
        Model { make: $make, name: $name, body: Body::$body, trims: &[$($trim),+], engine: $engine,
                fuel: $fuel, transmission: $tr, seats: $seats, base_price: $price, features: &[$($f),+] }
    };
}

/// The vehicle catalogue.
pub const MODELS: &[Model] = &[
    model!(
        "Toyota",
        "Corolla",
        Sedan,
        ["LE", "SE", "XSE"],
        "1.8L 4 cilindros",
        "Gasolina",
        "CVT",
        5,
        1_650_000,
        [
            "cámara de reversa",
            "Toyota Safety Sense",
            "pantalla de 8\"",
            "Apple CarPlay"
        ]
    ),
    model!(
        "Toyota",
        "RAV4",
        Suv,
        ["LE", "XLE", "Adventure"],
        "2.5L 4 cilindros",
        "Gasolina",
        "Automática",
        5,
        2_900_000,
        [
            "tracción AWD",
            "sunroof",
            "asientos en piel",
            "sensores de parqueo"
        ]
    ),
    model!(
        "Toyota",
        "Hilux",
        Pickup,
        ["SR", "SRV", "GR-Sport"],
        "2.8L turbo diésel",
        "Diésel",
        "Automática",
        5,
        3_300_000,
        [
            "4x4",
            "doble cabina",
            "control de descenso",
            "bola de remolque"
        ]
    ),
    model!(
        "Toyota",
        "Hiace",
        Van,
        ["Commuter", "GL"],
        "2.8L turbo diésel",
        "Diésel",
        "Manual",
        15,
        3_600_000,
        [
            "15 pasajeros",
            "aire acondicionado trasero",
            "puerta corrediza"
        ]
    ),
    model!(
        "Toyota",
        "Land Cruiser Prado",
        Suv,
        ["TX", "TXL", "VX"],
        "2.7L 4 cilindros",
        "Gasolina",
        "Automática",
        7,
        5_400_000,
        ["tercera fila", "4x4 con bloqueo", "asientos ventilados"]
    ),
    model!(
        "Honda",
        "Civic",
        Sedan,
        ["LX", "Sport", "Touring"],
        "2.0L 4 cilindros",
        "Gasolina",
        "CVT",
        5,
        1_900_000,
        ["Honda Sensing", "pantalla de 9\"", "encendido por botón"]
    ),
    model!(
        "Honda",
        "CR-V",
        Suv,
        ["LX", "EX", "Touring"],
        "1.5L turbo",
        "Gasolina",
        "CVT",
        5,
        2_750_000,
        ["baúl eléctrico", "Honda Sensing", "cargador inalámbrico"]
    ),
    model!(
        "Honda",
        "Fit",
        Hatchback,
        ["LX", "EX"],
        "1.5L 4 cilindros",
        "Gasolina",
        "CVT",
        5,
        1_150_000,
        ["asientos mágicos", "bajo consumo", "cámara de reversa"]
    ),
    model!(
        "Hyundai",
        "Tucson",
        Suv,
        ["GL", "GLS", "Limited"],
        "2.0L 4 cilindros",
        "Gasolina",
        "Automática",
        5,
        2_350_000,
        ["pantalla de 10.25\"", "Android Auto", "aros de 18\""]
    ),
    model!(
        "Hyundai",
        "Santa Fe",
        Suv,
        ["GLS", "Limited", "Calligraphy"],
        "2.5L turbo",
        "Gasolina",
        "Automática",
        7,
        3_450_000,
        ["tercera fila", "sonido Bose", "cámara 360"]
    ),
    model!(
        "Hyundai",
        "Accent",
        Sedan,
        ["GL", "GLS"],
        "1.6L 4 cilindros",
        "Gasolina",
        "Automática",
        5,
        1_050_000,
        ["bajo consumo", "bluetooth", "cámara de reversa"]
    ),
    model!(
        "Hyundai",
        "H-1",
        Van,
        ["Van", "Pasajeros"],
        "2.5L turbo diésel",
        "Diésel",
        "Manual",
        12,
        2_650_000,
        ["12 pasajeros", "doble aire", "puertas corredizas"]
    ),
    model!(
        "Hyundai",
        "Sonata",
        Sedan,
        ["SEL", "Limited"],
        "2.5L 4 cilindros",
        "Gasolina",
        "Automática",
        5,
        2_100_000,
        [
            "asientos en piel",
            "pantalla de 12.3\"",
            "control crucero adaptativo"
        ]
    ),
    model!(
        "Kia",
        "Sportage",
        Suv,
        ["LX", "EX", "GT-Line"],
        "2.0L 4 cilindros",
        "Gasolina",
        "Automática",
        5,
        2_250_000,
        [
            "pantalla curva",
            "asientos calefactables",
            "sensores de punto ciego"
        ]
    ),
    model!(
        "Kia",
        "Sorento",
        Suv,
        ["LX", "EX", "SX"],
        "2.5L 4 cilindros",
        "Gasolina",
        "Automática",
        7,
        2_950_000,
        ["tercera fila", "tracción AWD", "techo panorámico"]
    ),
    model!(
        "Kia",
        "Picanto",
        Hatchback,
        ["LX", "GT-Line"],
        "1.2L 4 cilindros",
        "Gasolina",
        "Manual",
        5,
        850_000,
        ["bajísimo consumo", "fácil de parquear", "pantalla de 8\""]
    ),
    model!(
        "Kia",
        "K5",
        Sedan,
        ["LXS", "GT-Line"],
        "1.6L turbo",
        "Gasolina",
        "Automática",
        5,
        2_050_000,
        [
            "diseño deportivo",
            "cargador inalámbrico",
            "pantalla de 10.25\""
        ]
    ),
    model!(
        "Kia",
        "Carnival",
        Van,
        ["EX", "SX"],
        "3.5L V6",
        "Gasolina",
        "Automática",
        8,
        3_800_000,
        ["8 pasajeros", "puertas eléctricas", "pantallas traseras"]
    ),
    model!(
        "Nissan",
        "Frontier",
        Pickup,
        ["S", "SV", "PRO-4X"],
        "2.5L turbo diésel",
        "Diésel",
        "Automática",
        5,
        2_800_000,
        ["4x4", "cámara 360", "cama con rieles"]
    ),
    model!(
        "Nissan",
        "Kicks",
        Suv,
        ["Sense", "Advance", "Exclusive"],
        "1.6L 4 cilindros",
        "Gasolina",
        "CVT",
        5,
        1_450_000,
        ["bajo consumo", "frenado de emergencia", "pantalla de 8\""]
    ),
    model!(
        "Nissan",
        "Sentra",
        Sedan,
        ["Sense", "Advance"],
        "2.0L 4 cilindros",
        "Gasolina",
        "CVT",
        5,
        1_550_000,
        [
            "asientos Zero Gravity",
            "Apple CarPlay",
            "alerta de tráfico cruzado"
        ]
    ),
    model!(
        "Nissan",
        "Urvan",
        Van,
        ["Estándar", "Pasajeros"],
        "2.5L diésel",
        "Diésel",
        "Manual",
        15,
        2_900_000,
        ["15 pasajeros", "techo alto", "aire acondicionado"]
    ),
    model!(
        "Mitsubishi",
        "L200",
        Pickup,
        ["GL", "GLS", "Sportero"],
        "2.4L turbo diésel",
        "Diésel",
        "Manual",
        5,
        2_450_000,
        ["4x4", "doble cabina", "protector de cama"]
    ),
    model!(
        "Mitsubishi",
        "Montero Sport",
        Suv,
        ["GLS", "Limited"],
        "2.4L turbo diésel",
        "Diésel",
        "Automática",
        7,
        3_250_000,
        ["tercera fila", "Super Select 4WD", "cámara 360"]
    ),
    model!(
        "Mitsubishi",
        "Mirage",
        Hatchback,
        ["ES", "GLS"],
        "1.2L 3 cilindros",
        "Gasolina",
        "CVT",
        5,
        790_000,
        ["bajísimo consumo", "mantenimiento barato", "bluetooth"]
    ),
    model!(
        "Ford",
        "Ranger",
        Pickup,
        ["XL", "XLT", "Wildtrak"],
        "2.0L turbo diésel",
        "Diésel",
        "Automática",
        5,
        3_150_000,
        ["4x4", "pantalla SYNC 4", "modos de manejo"]
    ),
    model!(
        "Ford",
        "Explorer",
        Suv,
        ["XLT", "Limited"],
        "2.3L EcoBoost",
        "Gasolina",
        "Automática",
        7,
        4_300_000,
        ["tercera fila", "sonido B&O", "asistente de parqueo"]
    ),
    model!(
        "Ford",
        "Territory",
        Suv,
        ["Trend", "Titanium"],
        "1.5L turbo",
        "Gasolina",
        "Automática",
        5,
        1_950_000,
        ["pantalla de 12\"", "techo panorámico", "cámara 360"]
    ),
    model!(
        "Chevrolet",
        "Colorado",
        Pickup,
        ["LT", "Z71"],
        "2.8L turbo diésel",
        "Diésel",
        "Automática",
        5,
        2_950_000,
        ["4x4", "control de tracción", "cama larga"]
    ),
    model!(
        "Chevrolet",
        "Tracker",
        Suv,
        ["LT", "Premier"],
        "1.2L turbo",
        "Gasolina",
        "Automática",
        5,
        1_500_000,
        ["wifi integrado", "seis bolsas de aire", "aros de 17\""]
    ),
    model!(
        "Chevrolet",
        "Onix",
        Sedan,
        ["LT", "Premier"],
        "1.0L turbo",
        "Gasolina",
        "Automática",
        5,
        1_100_000,
        ["bajo consumo", "pantalla MyLink", "seis bolsas de aire"]
    ),
    model!(
        "Mazda",
        "CX-5",
        Suv,
        ["Touring", "Grand Touring", "Signature"],
        "2.5L 4 cilindros",
        "Gasolina",
        "Automática",
        5,
        2_650_000,
        ["asientos en piel", "sonido Bose", "head-up display"]
    ),
    model!(
        "Mazda",
        "3",
        Sedan,
        ["Sport", "Grand Touring"],
        "2.5L 4 cilindros",
        "Gasolina",
        "Automática",
        5,
        1_750_000,
        ["diseño Kodo", "pantalla de 10.25\"", "i-Activsense"]
    ),
    model!(
        "Suzuki",
        "Swift",
        Hatchback,
        ["GL", "GLX"],
        "1.2L 4 cilindros",
        "Gasolina",
        "Manual",
        5,
        900_000,
        ["bajo consumo", "fácil de parquear", "pantalla táctil"]
    ),
    model!(
        "Suzuki",
        "Jimny",
        Suv,
        ["GA", "GLX"],
        "1.5L 4 cilindros",
        "Gasolina",
        "Manual",
        4,
        1_700_000,
        ["4x4 con reductora", "chasis de escalera", "tamaño compacto"]
    ),
    model!(
        "Jeep",
        "Wrangler",
        Suv,
        ["Sport", "Sahara", "Rubicon"],
        "2.0L turbo",
        "Gasolina",
        "Automática",
        5,
        4_600_000,
        ["techo removible", "4x4 Rock-Trac", "puertas desmontables"]
    ),
    model!(
        "Volkswagen",
        "Jetta",
        Sedan,
        ["Trendline", "Comfortline", "GLI"],
        "1.4L turbo",
        "Gasolina",
        "Automática",
        5,
        1_800_000,
        ["tablero digital", "baúl amplio", "frenado autónomo"]
    ),
    model!(
        "Isuzu",
        "D-Max",
        Pickup,
        ["LS", "V-Cross"],
        "3.0L turbo diésel",
        "Diésel",
        "Manual",
        5,
        2_600_000,
        ["4x4", "gran capacidad de carga", "motor duradero"]
    ),
];

/// Colours a vehicle may have.
pub const COLORS: &[&str] = &[
    "Blanco",
    "Blanco Perla",
    "Negro",
    "Gris Plata",
    "Gris Oscuro",
    "Rojo",
    "Azul Marino",
    "Azul Cielo",
    "Vino",
    "Champán",
    "Verde Oliva",
    "Arena",
];

/// One concrete vehicle for sale.
#[derive(Debug, Clone)]
pub struct Vehicle {
    /// Listing id, unique within a dealer.
    pub id: String,
    /// The catalogue model.
    pub model: Model,
    /// Model year.
    pub year: u16,
    /// Trim.
    pub trim: &'static str,
    /// Odometer, km.
    pub km: u32,
    /// Colour.
    pub color: &'static str,
    /// Asking price, DOP.
    pub price: u64,
    /// On offer.
    pub on_sale: bool,
    /// Previous owners (0 = new).
    pub owners: u8,
}

impl Vehicle {
    /// "Toyota RAV4".
    pub fn make_model(&self) -> String {
        format!("{} {}", self.model.make, self.model.name)
    }

    /// "2023 Toyota RAV4 XLE".
    pub fn title(&self) -> String {
        format!(
            "{} {} {} {}",
            self.year, self.model.make, self.model.name, self.trim
        )
    }

    /// True when the vehicle has never been registered.
    pub fn is_new(&self) -> bool {
        self.owners == 0
    }

    /// Draw a vehicle of `model` with listing id `id`.
    pub fn draw(rng: &mut Rng, model: Model, id: String) -> Vehicle {
        let age = rng.below(6) as u64;
        let year = (CURRENT_YEAR - age) as u16;
        let owners = if age == 0 { 0 } else { 1 + rng.below(2) as u8 };
        let km = if owners == 0 {
            rng.range(0, 30) as u32 * 10
        } else {
            (age * 9_000 + rng.range(0, 14) * 1_000) as u32
        };
        let depreciation = 100 - (age * 9).min(60);
        let jitter = rng.range(94, 106);
        let price = model.base_price * depreciation / 100 * jitter / 100 / 10_000 * 10_000;
        Vehicle {
            id,
            model,
            year,
            trim: model.trims[rng.below(model.trims.len())],
            km,
            color: COLORS[rng.below(COLORS.len())],
            price,
            on_sale: rng.percent(20),
            owners,
        }
    }
}

/// The model year of brand-new stock.
pub const CURRENT_YEAR: u64 = 2025;

/// A fictional dealer.
#[derive(Debug, Clone, Copy)]
pub struct Dealer {
    /// Trade name.
    pub name: &'static str,
    /// City.
    pub city: &'static str,
    /// Street address.
    pub address: &'static str,
    /// Phone (a 555 number: fictional).
    pub phone: &'static str,
    /// WhatsApp.
    pub whatsapp: &'static str,
    /// Weekday hours.
    pub weekdays: &'static str,
    /// Saturday hours.
    pub saturday: &'static str,
    /// Banks it finances with.
    pub banks: &'static [&'static str],
    /// Whether it takes trade-ins.
    pub trade_in: bool,
    /// A landmark for directions.
    pub landmark: &'static str,
}

macro_rules! dealer {
    ($name:expr, $city:expr, $addr:expr, $phone:expr, $wa:expr, $wd:expr, $sat:expr, [$($b:expr),+], $ti:expr, $lm:expr) => {
        Dealer { name: $name, city: $city, address: $addr, phone: $phone, whatsapp: $wa, weekdays: $wd,
                 saturday: $sat, banks: &[$($b),+], trade_in: $ti, landmark: $lm }
    };
}

/// The fictional dealers.
pub const DEALERS: &[Dealer] = &[
    dealer!(
        "Autos Cacique",
        "Santo Domingo",
        "Av. Núñez de Cáceres #214, Santo Domingo",
        "809-555-0142",
        "829-555-0142",
        "L-V 8:30 AM-6:00 PM",
        "Sáb 9:00 AM-1:00 PM",
        ["Banco Popular", "Banreservas"],
        true,
        "frente al parque Mirador Norte"
    ),
    dealer!(
        "Yaque Motors",
        "Santiago",
        "Av. Estrella Sadhalá #88, Santiago",
        "809-555-0377",
        "849-555-0377",
        "L-V 8:00 AM-5:30 PM",
        "Sáb 8:00 AM-12:00 PM",
        ["Banco BHD", "Asociación Cibao"],
        true,
        "al lado de la plaza Bella Terra"
    ),
    dealer!(
        "Costa Brava Autos",
        "La Romana",
        "Calle Duarte #51, La Romana",
        "809-555-0615",
        "829-555-0615",
        "L-V 8:00 AM-6:00 PM",
        "Sáb 8:30 AM-2:00 PM",
        ["Banreservas", "Banco Santa Cruz"],
        false,
        "a dos cuadras del parque central"
    ),
    dealer!(
        "Motores del Este",
        "Higüey",
        "Av. La Altagracia #19, Higüey",
        "809-555-0823",
        "809-555-0824",
        "L-V 8:00 AM-5:00 PM",
        "Sáb 8:00 AM-12:00 PM",
        ["Banco Popular", "Asociación La Nacional"],
        true,
        "cerca de la Basílica"
    ),
    dealer!(
        "Ámbar Car Center",
        "Puerto Plata",
        "Av. Luis Ginebra #132, Puerto Plata",
        "809-555-0931",
        "829-555-0931",
        "L-V 9:00 AM-6:00 PM",
        "Sáb 9:00 AM-1:00 PM",
        ["Banco BHD", "Banreservas"],
        true,
        "frente a la estación de gasolina de la entrada"
    ),
    dealer!(
        "Quisqueya Auto Plaza",
        "Santo Domingo Este",
        "Autopista San Isidro km 7, Santo Domingo Este",
        "809-555-0268",
        "849-555-0268",
        "L-V 8:00 AM-7:00 PM",
        "Sáb 9:00 AM-3:00 PM",
        ["Banco Popular", "Banco Promerica", "Asociación Popular"],
        true,
        "pasando el puente de la Charles"
    ),
    dealer!(
        "Valle Verde Motors",
        "La Vega",
        "Av. Pedro A. Rivera #40, La Vega",
        "809-555-0459",
        "829-555-0459",
        "L-V 8:00 AM-5:00 PM",
        "Sáb 8:00 AM-12:00 PM",
        ["Asociación Cibao", "Banreservas"],
        false,
        "próximo a la salida hacia Jarabacoa"
    ),
    dealer!(
        "Sur Dorado Autos",
        "Baní",
        "Calle Mella #73, Baní",
        "809-555-0584",
        "809-555-0585",
        "L-V 8:30 AM-5:30 PM",
        "Sáb 8:30 AM-12:30 PM",
        ["Banco BHD", "Banco Vimenca"],
        true,
        "detrás del mercado municipal"
    ),
    dealer!(
        "Malecón Car Gallery",
        "Santo Domingo",
        "Av. George Washington #505, Santo Domingo",
        "809-555-0736",
        "829-555-0736",
        "L-V 9:00 AM-6:30 PM",
        "Sáb 9:00 AM-2:00 PM",
        ["Banco Popular", "Scotiabank"],
        true,
        "frente al malecón, cerca del obelisco"
    ),
    dealer!(
        "Cibao Autoventas",
        "San Francisco de Macorís",
        "Av. Libertad #97, San Francisco de Macorís",
        "809-555-0193",
        "849-555-0193",
        "L-V 8:00 AM-5:30 PM",
        "Sáb 8:00 AM-1:00 PM",
        ["Banreservas", "Asociación Duarte"],
        true,
        "a la vuelta del parque Duarte"
    ),
];

/// A dealer with the vehicles it has in stock (ids unique, models distinct).
#[derive(Debug, Clone)]
pub struct Inventory {
    /// The dealer.
    pub dealer: Dealer,
    /// Its stock.
    pub vehicles: Vec<Vehicle>,
}

impl Inventory {
    /// Draw a dealer and `size` vehicles of distinct models.
    pub fn draw(rng: &mut Rng, size: usize) -> Inventory {
        let dealer = *rng.pick(DEALERS);
        let mut order: Vec<usize> = (0..MODELS.len()).collect();
        rng.shuffle(&mut order);
        let mut ids = Vec::with_capacity(size);
        let vehicles = order[..size.min(MODELS.len())]
            .iter()
            .map(|&m| {
                let mut id = format!("OK-{:05}", rng.range(10_000, 99_999));
                while ids.contains(&id) {
                    id = format!("OK-{:05}", rng.range(10_000, 99_999));
                }
                ids.push(id.clone());
                Vehicle::draw(rng, MODELS[m], id)
            })
            .collect();
        Inventory { dealer, vehicles }
    }

    /// A catalogue model this inventory does not hold.
    pub fn absent_model(&self, rng: &mut Rng) -> Model {
        let absent: Vec<&Model> = MODELS
            .iter()
            .filter(|m| {
                !self
                    .vehicles
                    .iter()
                    .any(|v| v.model.make == m.make && v.model.name == m.name)
            })
            .collect();
        **rng.pick(&absent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventories_have_unique_ids_and_positive_round_prices() {
        for seed in 0..50 {
            let mut rng = Rng::new(seed);
            let inv = Inventory::draw(&mut rng, 14);
            assert_eq!(inv.vehicles.len(), 14);
            for (i, v) in inv.vehicles.iter().enumerate() {
                assert!(v.price >= 300_000 && v.price % 10_000 == 0, "{}", v.price);
                assert!(inv.vehicles[..i]
                    .iter()
                    .all(|w| w.id != v.id && w.model.name != v.model.name));
            }
            let absent = inv.absent_model(&mut rng);
            assert!(inv.vehicles.iter().all(|v| v.model.name != absent.name));
        }
    }
}
