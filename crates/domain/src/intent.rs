//! The 24 OKLA intents and which conversation mode each belongs to (docs/domain.md).

use std::fmt;

/// A conversation mode, told apart by the system prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// One vehicle in context ("VEHÍCULO EN CONTEXTO").
    SingleVehicle,
    /// A dealer's whole inventory in context ("INVENTARIO DISPONIBLE").
    DealerInventory,
}

/// One of the 24 intents an OKLA assistant answer may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Intent {
    /// Hello / klk.
    Greeting,
    /// The price of a vehicle.
    VehiclePrice,
    /// Specifications and features of a vehicle.
    VehicleDetails,
    /// Financing options.
    FinancingInfo,
    /// Scheduling a test drive or visit.
    TestDriveSchedule,
    /// Warranty questions.
    WarrantyInfo,
    /// Trading in the user's current vehicle.
    TradeIn,
    /// Paying in cash.
    CashPurchase,
    /// Haggling over the price.
    NegotiatePrice,
    /// A vehicle the context does not hold.
    VehicleNotInInventory,
    /// Dealer contact data, or the user leaving theirs.
    ContactRequest,
    /// Opening hours.
    DealerHours,
    /// Address and directions.
    DealerLocation,
    /// Paperwork needed to buy.
    DocumentsRequired,
    /// Accidents, owners, origin of a vehicle.
    VehicleHistory,
    /// Refusing something illegal (tax evasion, anonymous sales, personal data, binding promises).
    LegalRefusal,
    /// Goodbye.
    Farewell,
    /// The bot could not understand.
    Fallback,
    /// Off-topic questions.
    OutOfScope,
    /// An upset user.
    FrustratedUser,
    /// Asking for a human.
    RequestHumanAgent,
    /// Searching the dealer's inventory (DealerInventory only).
    VehicleSearch,
    /// Comparing vehicles of the same inventory (DealerInventory only).
    VehicleComparison,
    /// Refusing comparisons with other dealers (DealerInventory only).
    CrossDealerRefusal,
}

impl Intent {
    /// Every intent, in the order docs/domain.md lists them.
    pub const ALL: [Intent; 24] = [
        Intent::Greeting,
        Intent::VehiclePrice,
        Intent::VehicleDetails,
        Intent::FinancingInfo,
        Intent::TestDriveSchedule,
        Intent::WarrantyInfo,
        Intent::TradeIn,
        Intent::CashPurchase,
        Intent::NegotiatePrice,
        Intent::VehicleNotInInventory,
        Intent::ContactRequest,
        Intent::DealerHours,
        Intent::DealerLocation,
        Intent::DocumentsRequired,
        Intent::VehicleHistory,
        Intent::LegalRefusal,
        Intent::Farewell,
        Intent::Fallback,
        Intent::OutOfScope,
        Intent::FrustratedUser,
        Intent::RequestHumanAgent,
        Intent::VehicleSearch,
        Intent::VehicleComparison,
        Intent::CrossDealerRefusal,
    ];

    /// The label used in the assistant JSON.
    pub fn name(self) -> &'static str {
        match self {
            Intent::Greeting => "Greeting",
            Intent::VehiclePrice => "VehiclePrice",
            Intent::VehicleDetails => "VehicleDetails",
            Intent::FinancingInfo => "FinancingInfo",
            Intent::TestDriveSchedule => "TestDriveSchedule",
            Intent::WarrantyInfo => "WarrantyInfo",
            Intent::TradeIn => "TradeIn",
            Intent::CashPurchase => "CashPurchase",
            Intent::NegotiatePrice => "NegotiatePrice",
            Intent::VehicleNotInInventory => "VehicleNotInInventory",
            Intent::ContactRequest => "ContactRequest",
            Intent::DealerHours => "DealerHours",
            Intent::DealerLocation => "DealerLocation",
            Intent::DocumentsRequired => "DocumentsRequired",
            Intent::VehicleHistory => "VehicleHistory",
            Intent::LegalRefusal => "LegalRefusal",
            Intent::Farewell => "Farewell",
            Intent::Fallback => "Fallback",
            Intent::OutOfScope => "OutOfScope",
            Intent::FrustratedUser => "FrustratedUser",
            Intent::RequestHumanAgent => "RequestHumanAgent",
            Intent::VehicleSearch => "VehicleSearch",
            Intent::VehicleComparison => "VehicleComparison",
            Intent::CrossDealerRefusal => "CrossDealerRefusal",
        }
    }

    /// The intent with this exact label, if any.
    pub fn parse(label: &str) -> Option<Intent> {
        Intent::ALL.into_iter().find(|i| i.name() == label)
    }

    /// True when the intent may occur in a conversation of `mode`.
    pub fn allowed_in(self, mode: Mode) -> bool {
        let inventory_only = matches!(
            self,
            Intent::VehicleSearch | Intent::VehicleComparison | Intent::CrossDealerRefusal
        );
        mode == Mode::DealerInventory || !inventory_only
    }
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_and_modes_split_21_and_24() {
        for intent in Intent::ALL {
            assert_eq!(Intent::parse(intent.name()), Some(intent));
        }
        assert_eq!(Intent::parse("greeting"), None);
        let sv = Intent::ALL
            .iter()
            .filter(|i| i.allowed_in(Mode::SingleVehicle))
            .count();
        let di = Intent::ALL
            .iter()
            .filter(|i| i.allowed_in(Mode::DealerInventory))
            .count();
        assert_eq!((sv, di), (21, 24));
    }
}
