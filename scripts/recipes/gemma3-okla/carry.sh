#!/usr/bin/env bash
# Here, before the device calls of README.md ("Getting the base onto the GPU
# machine"): cut the base into the five pieces a call can carry (target/gchunk/) and
# pack the stripped `train`-feature binary into target/gpucarry/ (train.toml and
# device.sh travel with the tree). Needs `cargo build --release --features train`.
set -euo pipefail
cd "$(dirname "$0")/../../.."
BASE=$(readlink -f models/gemma3-okla/gemma3-270m-q4_k_m.gguf)
rm -rf target/gchunk target/gpucarry
mkdir -p target/gchunk target/gpucarry
head -c 35000000 "$BASE" > target/gchunk/g.0
tail -c +35000001 "$BASE" | split -b 54600000 -d -a 1 - target/gchunk/g.r
strip -o target/gpucarry/okla-eval target/release/okla-eval
xz -T2 -6 target/gpucarry/okla-eval
ls -la target/gchunk target/gpucarry
