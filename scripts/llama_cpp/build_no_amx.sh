#!/usr/bin/env bash
# llama.cpp's fastest path that runs on these CPUs, for speed anchors: llama-cpp-python
# 0.3.36 built in its own venv ($OKLA_CACHE/pyref-noamx) with weight repacking but
# without AMX (its default AMX / repack path segfaults here; the default build in
# $OKLA_CACHE/pyref then runs only with its plain kernels, `--plain`). The ISA flags
# follow this CPU: AVX-512 (F, VNNI, VBMI, BF16 where present) on AVX-512 machines,
# AVX2 + FMA + F16C otherwise; a build for another CPU's flags is rebuilt.
# Not a test set-up: bench_vs_llama.sh uses it when present. About 5 minutes on 2 cores.
set -euo pipefail
cache="${OKLA_CACHE:-$HOME/.cache/okla-eval}"
venv="$cache/pyref-noamx"
has() { grep -qw "$1" /proc/cpuinfo; }
flags="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
if has avx512f && has avx512bw && has avx512vl; then
  flags+=" -DGGML_AVX512=ON"
  has avx512_vnni && flags+=" -DGGML_AVX512_VNNI=ON"
  has avx512_vbmi && flags+=" -DGGML_AVX512_VBMI=ON"
  has avx512_bf16 && flags+=" -DGGML_AVX512_BF16=ON"
fi
flags+=" -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
stamp="$venv/okla-cmake-args"
if ! "$venv/bin/python" -c "import llama_cpp" 2>/dev/null; then
  echo "building llama-cpp-python 0.3.36 with: $flags" >&2
  CMAKE_ARGS="$flags" "$venv/bin/pip" install -q --no-cache-dir "llama-cpp-python==0.3.36"
  echo "$flags" > "$stamp"
elif [ "$(cat "$stamp" 2>/dev/null)" != "$flags" ]; then
  echo "rebuilding llama-cpp-python 0.3.36 for this CPU's flags: $flags" >&2
  CMAKE_ARGS="$flags" "$venv/bin/pip" install -q --no-cache-dir --force-reinstall --no-deps "llama-cpp-python==0.3.36"
  echo "$flags" > "$stamp"
fi
echo "llama.cpp without AMX: $("$venv/bin/python" -c 'import llama_cpp; print("llama-cpp-python", llama_cpp.__version__)') in $venv ($flags)"
