//! The workspace's layers (docs/architecture.md): no crate depends on a crate above
//! it, and the binary's package depends on the library crates only. The compiler
//! forbids importing a crate that is not a dependency; this test forbids adding an
//! upward dependency to a Cargo.toml.

use std::path::Path;

/// From the bottom up: each crate may depend only on crates listed before it.
const LAYERS: [&str; 7] = [
    "okla-formats",
    "okla-text",
    "okla-engine",
    "okla-harness",
    "okla-export",
    "okla-train",
    "okla-domain",
];

fn okla_dependencies(manifest: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(manifest).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    ["dependencies", "dev-dependencies", "build-dependencies"]
        .iter()
        .filter_map(|section| doc.get(*section).and_then(|v| v.as_table()))
        .flat_map(|deps| deps.keys().cloned())
        .filter(|name| name.starts_with("okla-"))
        .collect()
}

#[test]
fn no_crate_depends_on_a_crate_above_it() {
    let mut seen = 0;
    for (level, name) in LAYERS.iter().enumerate() {
        let dir = name.trim_start_matches("okla-");
        let manifest = Path::new("crates").join(dir).join("Cargo.toml");
        assert!(manifest.is_file(), "{} is missing", manifest.display());
        for dep in okla_dependencies(&manifest) {
            let dep_level = LAYERS
                .iter()
                .position(|l| *l == dep)
                .unwrap_or_else(|| panic!("{name} depends on {dep}, which is no layer"));
            assert!(
                dep_level < level,
                "{name} (layer {level}) depends on {dep} (layer {dep_level}): an upward or sideways import"
            );
        }
        seen += 1;
    }
    let crates_on_disk = std::fs::read_dir("crates").unwrap().count();
    assert_eq!(
        seen, crates_on_disk,
        "every crate under crates/ has a layer"
    );
}
