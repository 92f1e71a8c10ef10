#!/usr/bin/env bash
# Assembles what qlora_bench.sh needs on the GPU machine into DEST (default
# target/gpu-bench): the stripped train_bench example, the bench scripts, the HF
# baseline script and bitsandbytes 0.50.2 (the PyPI wheel unpacked with only its
# CUDA 13 libraries, as the whole wheel does not fit the device call's 64 MiB).
# Build first:  source scripts/train-env.sh && cargo build --features train --example train_bench
set -euo pipefail
cd "$(dirname "$0")/../.."
DEST="${1:-target/gpu-bench}"
CACHE="${OKLA_CACHE:-$HOME/.cache/okla-eval}/bnb"
BASELINE="${BASELINE:-../shared/tools/hf_qlora_baseline.py}"
mkdir -p "$DEST" "$CACHE"
if [ ! -f "$CACHE/bnb-site.tar.gz" ]; then
  rm -rf "$CACHE/wheel" "$CACHE/site"
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_24_x86_64 -d "$CACHE/wheel" bitsandbytes==0.50.2
  mkdir -p "$CACHE/site"
  (cd "$CACHE/site" && unzip -q ../wheel/bitsandbytes-0.50.2-*.whl &&
    find . -name 'libbitsandbytes_*.so' ! -name '*cuda13*' -delete &&
    tar czf ../bnb-site.tar.gz .)
fi
cp "$CACHE/bnb-site.tar.gz" "$DEST/"
strip -o "$DEST/train_bench" target/debug/examples/train_bench
cp scripts/gpu/qlora_bench.sh scripts/gpu/gpu_mem_poll.py scripts/gpu/hf_windowed.py \
  scripts/gpu/qlora_bench_summary.py scripts/gpu/qlora_bench_device.sh scripts/gpu/gpu_parity.py \
  "$BASELINE" "$DEST/"
strip -o "$DEST/train_parity" target/debug/examples/train_parity
du -sh "$DEST"
