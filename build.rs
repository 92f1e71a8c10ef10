//! Build script: for the `train` feature only, force-link libtorch_cuda so that
//! tch sees the GPU (no symbol of it is referenced, so `--as-needed` would drop it).
//! Without the feature nothing here touches libtorch.

fn main() {
    println!("cargo:rerun-if-env-changed=CARGO_FEATURE_TRAIN");
    if std::env::var_os("CARGO_FEATURE_TRAIN").is_some() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch_cuda");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
}
