//! `okla-eval gate` with several decoding arms: each arm runs the suite through the same
//! backend into a run folder of its own (`<run>/arms/<arm>/`, journaled, resumable and
//! committed like any run folder), then the arms are committed side by side at the root
//! and printed as one table. The exit code is the worst arm's.

use std::path::Path;

use anyhow::Result;

use super::gate::{append_step_summary, journal_seed};
use super::progress::Terminal;
use okla_harness::arm::Arm;
use okla_harness::backend::Backend;
use okla_harness::report::arms::{arm_folder, commit_root, prepare_root};
use okla_harness::report::{answered_cases, render_arms_terminal, RunFolder, Style, SUMMARY_MD};
use okla_harness::runner::{run_suite, Resumed, RunOptions};
use okla_harness::suite::Suite;

/// Run every arm of `arms` against `backend` into `root` (reusing the answers of
/// `resume`'s arm folders when given), commit the root, print the arms side by side and
/// return the exit code.
pub fn run_arms(
    suite: &Suite,
    backend: &mut dyn Backend,
    arms: &[Arm],
    options: &RunOptions,
    root: &Path,
    resume: Option<&Path>,
) -> Result<u8> {
    prepare_root(root, arms)?;
    let mut runs = Vec::with_capacity(arms.len());
    for (i, arm) in arms.iter().enumerate() {
        eprintln!("arm {}/{}: {}", i + 1, arms.len(), arm.name);
        // Read before the arm's folder is prepared: it may be the folder being resumed.
        let resumed = match resume.map(|from| arm_folder(from, &arm.name)) {
            Some(from) if from.is_dir() => Some(Resumed {
                answers: answered_cases(&from)?,
                from,
            }),
            _ => None,
        };
        let folder =
            RunFolder::prepare(&arm_folder(root, &arm.name), journal_seed(resumed.as_ref()))?;
        let arm_options = RunOptions {
            decoding: Some(arm.decoding),
            resumed,
            ..options.clone()
        };
        let run = run_suite(
            suite,
            backend,
            &arm_options,
            &Terminal::stderr(),
            Some(folder.journal()),
        )?;
        folder.commit(&run)?;
        runs.push((arm.clone(), run));
    }
    let index = commit_root(root, &runs)?;
    let side_by_side: Vec<(&str, &_)> = runs.iter().map(|(a, r)| (a.name.as_str(), r)).collect();
    print!("{}", render_arms_terminal(&side_by_side, Style::detect()));
    println!("reports: {}", root.display());
    append_step_summary(&root.join(SUMMARY_MD));
    Ok(index.outcome.exit_code())
}
