//! The `okla-eval` binary: parses the command line and maps outcomes to exit codes
//! (0 pass, 1 gate failed, 2 usage or input error).

use std::process::ExitCode;

fn main() -> ExitCode {
    okla_eval::cli::main()
}
