//! Build script of the `okla-eval` binary: records the git commit it was built from
//! (`OKLA_BUILD_COMMIT`, in bench rows and run reports; `-dirty` when tracked files
//! differ from it), and, for the `train` feature
//! only, force-links libtorch_cuda so that tch sees the GPU (no symbol of it is
//! referenced, so `--as-needed` would drop it). A library's build script cannot pass
//! link arguments to the binaries of the crates that use it, so this lives here.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    println!("cargo:rerun-if-changed=.git/index");
    // the sources, so that editing one after a build marks the next one `-dirty`
    for dir in ["src", "crates", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={dir}");
    }
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = match git(&["rev-parse", "--short=12", "HEAD"]) {
        // a build from a tree with uncommitted changes to tracked files is not that commit
        Some(c) => match git(&["status", "--porcelain", "--untracked-files=no"]) {
            Some(changes) if !changes.is_empty() => format!("{c}-dirty"),
            _ => c,
        },
        None => "unknown".into(),
    };
    println!("cargo:rustc-env=OKLA_BUILD_COMMIT={commit}");

    println!("cargo:rerun-if-env-changed=CARGO_FEATURE_TRAIN");
    if std::env::var_os("CARGO_FEATURE_TRAIN").is_some() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch_cuda");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
}
