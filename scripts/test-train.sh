#!/usr/bin/env bash
# Runs the `train` feature's tests on the CPU against the cached PyTorch venv made by
# scripts/setup/torch.sh (called by scripts/test.sh after the default suite).
# The first build compiles tch/torch-sys (~13 minutes on 2 cores); tests take ~15 s.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/train-env.sh
source scripts/train-env.sh
cargo build --features train --examples
cargo test -p okla-train
cargo test --features train --test train_loop --test train_cli --test train_gguf --test train_gemma --test train_export --test train_streaming
