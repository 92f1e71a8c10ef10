//! The `okla-eval` binary: parses the command line, calls the library crates and renders
//! their results; maps outcomes to exit codes (0 pass, 1 gate failed, 2 usage, input
//! or output error, 3 could not evaluate).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
