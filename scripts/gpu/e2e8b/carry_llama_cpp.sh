#!/usr/bin/env bash
# Packs llama-cpp-python 0.3.36 as scripts/setup/llama-server.sh built it (the package,
# its ggml libraries, and diskcache, which it imports and the GPU machine lacks) into
# target/gpucarry/llama_cpp.tar.xz for e2e.sh's llama.cpp bench on the GPU machine's CPU.
set -euo pipefail
cd "$(dirname "$0")/../../.."
SITE=$(ls -d "${OKLA_CACHE:-$HOME/.cache/okla-eval}"/pyref/lib/python3*/site-packages)
mkdir -p target/gpucarry
tar cJf target/gpucarry/llama_cpp.tar.xz -C "$SITE" --exclude=__pycache__ llama_cpp diskcache
ls -la target/gpucarry
