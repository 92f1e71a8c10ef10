//! The OKLA checks' data files know the synthetic world: every make and model of
//! `data synth`'s catalog is found by the vehicle lexicon as itself, and every dealer
//! is in the dealer list (else the checks would miss what the generator writes).

use std::path::Path;

use okla_domain::synth::{DEALERS, MODELS};
use okla_harness::score::Lexicon;

#[test]
fn every_catalog_vehicle_is_in_the_lexicon() {
    let lexicon = Lexicon::load(Path::new("suites/okla/checks/vehicles.toml")).unwrap();
    for model in MODELS {
        let name = format!("{} {}", model.make, model.name);
        let found = lexicon.mentions(&format!("el 2024 {name} LX"));
        assert_eq!(found.len(), 1, "{name}: {found:?}");
        assert_eq!(lexicon.describe(&found[0]), format!("2024 {name}"));
    }
}

#[test]
fn every_catalog_dealer_is_in_the_dealer_list() {
    let list = std::fs::read_to_string("suites/okla/checks/dealers.txt").unwrap();
    for dealer in DEALERS {
        assert!(list.lines().any(|l| l == dealer.name), "{}", dealer.name);
    }
}
