//! The `okla-eval` binary: parses the command line, calls the library crates and renders
//! their results; maps outcomes to exit codes (0 pass, 1 gate failed, 2 usage or input
//! error).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
