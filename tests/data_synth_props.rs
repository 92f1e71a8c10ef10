//! Properties of the synthetic generator for any seed: its output lints clean
//! against the OKLA suite (no error, no warning, no user turn shared between
//! splits) and the same seed gives byte-identical files.

use std::path::{Path, PathBuf};

use okla_domain::lint::{lint, Rules};
use okla_domain::synth::{generate, write, Split, SplitSizes};
use okla_formats::progress::NoProgress;
use proptest::prelude::*;

fn synth_into(dir: &Path, seed: u64, count: usize) -> Vec<PathBuf> {
    let splits = generate(seed, SplitSizes::new(count, None), &NoProgress).unwrap();
    write(&splits, dir).unwrap();
    Split::ALL.iter().map(|s| dir.join(s.file_name())).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn synth_output_always_lints_clean(seed in any::<u64>(), count in 1usize..60) {
        let rules = Rules::from_suite(Path::new("suites/okla")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let files = synth_into(dir.path(), seed, count);
        let report = lint(&files, &rules).unwrap();
        prop_assert!(report.findings.is_empty(), "{}", report.render());
        let conversations: usize = report.files.iter().map(|f| f.conversations).sum();
        prop_assert_eq!(conversations, count);
    }

    #[test]
    fn same_seed_gives_byte_identical_files(seed in any::<u64>(), count in 1usize..40) {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let first = synth_into(a.path(), seed, count);
        let second = synth_into(b.path(), seed, count);
        for (x, y) in first.iter().zip(&second) {
            prop_assert_eq!(std::fs::read(x).unwrap(), std::fs::read(y).unwrap());
        }
    }
}

#[test]
fn different_seeds_give_different_data() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let x = synth_into(a.path(), 1, 20);
    let y = synth_into(b.path(), 2, 20);
    assert_ne!(std::fs::read(&x[2]).unwrap(), std::fs::read(&y[2]).unwrap());
}
