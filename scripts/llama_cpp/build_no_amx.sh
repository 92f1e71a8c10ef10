#!/usr/bin/env bash
# llama.cpp's fastest path that runs on these CPUs, for speed anchors: llama-cpp-python
# 0.3.36 built in its own venv ($OKLA_CACHE/pyref-noamx) with AVX-512 and weight
# repacking but without AMX (its default AMX / repack path segfaults here; the default
# build in $OKLA_CACHE/pyref then runs only with its plain kernels, `--plain`).
# Not a test set-up: bench_vs_llama.sh uses it when present. About 5 minutes on 2 cores.
set -euo pipefail
cache="${OKLA_CACHE:-$HOME/.cache/okla-eval}"
venv="$cache/pyref-noamx"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if ! "$venv/bin/python" -c "import llama_cpp" 2>/dev/null; then
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
-DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_BF16=ON \
-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" \
    "$venv/bin/pip" install -q --no-cache-dir "llama-cpp-python==0.3.36"
fi
echo "llama.cpp without AMX: $("$venv/bin/python" -c 'import llama_cpp; print("llama-cpp-python", llama_cpp.__version__)') in $venv"
