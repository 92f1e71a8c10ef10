#!/usr/bin/env bash
# Runs the `train` feature's tests (CPU) against the cached PyTorch venv.
# Extra arguments go to `cargo test` (e.g. a test-name filter).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/train-env.sh
source scripts/train-env.sh
cargo test --features train "$@"
