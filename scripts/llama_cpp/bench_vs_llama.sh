#!/usr/bin/env bash
# Side-by-side speed of okla-eval's engine and llama.cpp (llama-cpp-python) on one GGUF,
# same thread counts, run back to back: prints the reports with peak RSS (a third from
# llama.cpp built without AMX when build_no_amx.sh has made it).
# usage: [LLAMA_BENCH_ARGS=--plain] scripts/llama_cpp/bench_vs_llama.sh MODEL.gguf [THREADS=1,2] [REPS=5]
# (--plain: llama.cpp without weight repacking / AMX, which crash on Gemma 3 on AMX CPUs)
set -euo pipefail
model=$1; threads=${2:-1,2}; reps=${3:-5}
py=${OKLA_CACHE:-$HOME/.cache/okla-eval}/pyref/bin/python
here=$(cd "$(dirname "$0")" && pwd)
bin=${OKLA_EVAL:-$here/../../target/release/okla-eval}
echo "== okla-eval bench ($(basename "$model"), threads $threads, $reps reps)"
"$bin" bench "$model" --threads "$threads" -r "$reps"
echo "== llama.cpp"
"$py" "$here/llama_bench.py" "$model" --threads "$threads" -r "$reps" ${LLAMA_BENCH_ARGS:-}
noamx=${OKLA_CACHE:-$HOME/.cache/okla-eval}/pyref-noamx/bin/python
if [ -x "$noamx" ]; then
  echo "== llama.cpp built without AMX, weight repacking on (build_no_amx.sh)"
  "$noamx" "$here/llama_bench.py" "$model" --threads "$threads" -r "$reps"
fi
