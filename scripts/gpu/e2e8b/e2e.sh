#!/usr/bin/env bash
# Issue 23's end-to-end run on the GPU machine: what a user runs on Llama-3-8B-Instruct,
# on an 8B-shape folder with random weights in the real HF layout.
#   write (random bf16 shards + index + config + Llama 3 tokenizer: write_hf_llama.py)
#   -> okla-eval train (the seed's recipe: QLoRA r16, 2 x 8, paged 8-bit AdamW, P95
#      max_seq_len; STEPS optimizer steps on synthetic OKLA conversations)
#   -> okla-eval export (merge + Q4_K_M, ungated: random weights cannot pass)
#   -> okla-eval gate on CASES test cases, on the host's CPU
#   -> train again for 2 steps without the caching allocator (NVML then follows live
#      memory), then okla-eval bench and llama.cpp's bench on the CPU (most needed first:
#      device time may run out)
# Every step runs under /usr/bin/time -v (wall time, peak host RSS); the GPU steps
# beside an NVML poller. summarize.py turns the logs into docs/train.md's table.
#   e2e.sh start [STEPS] [CASES]   from the carried repo root: copy what the run needs
#                                  to ~/e2e and run every step there, detached
#   e2e.sh poll [SECONDS]          wait up to SECONDS for the run to end, then copy
#                                  the logs so far to $OUT
# Carry target/gpucarry: the stripped, xz'd `train`-feature binary
# (scripts/recipes/gemma3-okla/carry.sh) and, for llama.cpp's bench beside ours,
# llama_cpp.tar.xz (scripts/gpu/e2e8b/carry_llama_cpp.sh). A dry run here, on the CPU, at a small shape:
#   HOME=/tmp/e2e-home WRITE_ARGS="--layers 2 --dim 256 --ff 512 --heads 4 --kv-heads 2" \
#     bash scripts/gpu/e2e8b/e2e.sh start 2 1
set -euo pipefail
WORK="$HOME/e2e"
OUT="${OUT:-/tmp/e2e-out}"
mkdir -p "$OUT"
case "${1:-}" in
start)
  rm -rf "$WORK"
  mkdir -p "$WORK/logs"
  xz -dc target/gpucarry/okla-eval.xz > "$WORK/okla-eval"
  chmod +x "$WORK/okla-eval"
  cp -r suites scripts/gpu/e2e8b scripts/gpu/gpu_mem_poll.py scripts/llama_cpp/llama_bench.py \
    scripts/llama_cpp/plain_kernels.py "$WORK/"
  if [ -f target/gpucarry/llama_cpp.tar.xz ]; then
    mkdir -p "$WORK/pylib" && tar xJf target/gpucarry/llama_cpp.tar.xz -C "$WORK/pylib"
  fi
  mkdir -p "$WORK/models" && cp -r models/llama3 "$WORK/models/"
  (cd "$WORK" && setsid nohup bash e2e8b/e2e.sh run "${2:-10}" "${3:-5}" > logs/e2e.log 2>&1 &)
  sleep 5
  cat "$WORK/logs/e2e.log"
  exit 0
  ;;
poll)
  # the machine goes back after a short idle time: each call waits here, up to
  # ${2:-0} seconds, for the run to finish
  end=$((SECONDS + ${2:-0}))
  # (logs packed as it goes, one archive since $OUT brings back few files: a call
  # cut off by the session's device time keeps them)
  bring_back() {
    tar czf "$OUT/logs.tgz.part" -C "$WORK" logs 2>/dev/null && mv "$OUT/logs.tgz.part" "$OUT/logs.tgz"
    cp "$WORK/logs/e2e.log" "$OUT/" 2>/dev/null || true
  }
  while [ "$SECONDS" -lt "$end" ] && ! grep -q '^e2e done' "$WORK/logs/e2e.log"; do
    bring_back
    sleep 10
  done
  bring_back
  tail -n 25 "$WORK/logs/e2e.log"
  exit 0
  ;;
run) steps="$2" cases="$3" ;;
*) echo "usage: e2e.sh start [STEPS] [CASES] | poll" >&2; exit 2 ;;
esac

cd "$WORK"
TORCH_LIB="$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')/lib"
export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PYTHONUNBUFFERED=1
threads=$(nproc)
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  lscpu | grep -m1 'Model name'
  echo "cores: $threads; $(free -g | awk '/Mem:/{print $2}') GiB RAM"
  ./okla-eval --version
} 2>&1 | tee logs/machine.txt || true

# step NAME [gpu] CMD...: run CMD under /usr/bin/time -v (logs/NAME.time), stdout and
# stderr to logs/NAME.log, with the NVML poller (logs/NAME.nvml) when `gpu` is given.
step() {
  local name="$1" poll=""
  shift
  if [ "$1" = gpu ]; then
    shift
    python3 gpu_mem_poll.py "logs/$name.nvml" &
    poll=$!
  fi
  echo "== $name: $* ($(date +%T))"
  local status=0
  /usr/bin/time -v -o "logs/$name.time" "$@" > "logs/$name.log" 2>&1 || status=$?
  if [ -n "$poll" ]; then kill "$poll" 2>/dev/null || true; wait "$poll" || true; fi
  echo "== $name: exit $status ($(date +%T))"
  tail -n 4 "logs/$name.log"
  return 0
}

# shellcheck disable=SC2086 # WRITE_ARGS: a smaller shape for a dry run on the dev machine
step write python3 e2e8b/write_hf_llama.py llama8b ${WRITE_ARGS:-}
./okla-eval data synth --seed 42 --count 600 --train-count 400 --out data > logs/data.log 2>&1
sha256sum data/*.jsonl | tee logs/data.sha256
# a short eval split: the run's final evaluation is not what is measured here
head -n 8 data/okla_eval.jsonl > data/eval8.jsonl
train_args=(--model llama8b --train-file data/okla_train.jsonl --eval-file data/eval8.jsonl
  --eval-every 0 --save-every 100)
PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True \
  step train gpu ./okla-eval train "${train_args[@]}" --output-dir run --max-steps "$steps"
cp run/metrics.jsonl run/recipe.json logs/ 2>/dev/null || true
step export ./okla-eval export --adapter run/adapter --base llama8b --type q4_k_m --force \
  --threads "$threads" --out llama8b-okla-q4_k_m.gguf
ls -la llama8b-okla-q4_k_m.gguf >> logs/export.log 2>&1 || true
step gate ./okla-eval gate --model llama8b-okla-q4_k_m.gguf --threads "$threads" \
  --max-cases "$cases" --max-new-tokens 64 --skip-loss --run-dir gate-run
cp gate-run/timings.csv logs/gate_timings.csv 2>/dev/null || true
PYTORCH_NO_CUDA_MEMORY_CACHING=1 \
  step train_nocache gpu ./okla-eval train "${train_args[@]}" --output-dir run-nocache --max-steps 2
cp run-nocache/metrics.jsonl logs/metrics_nocache.jsonl 2>/dev/null || true
step bench ./okla-eval bench llama8b-okla-q4_k_m.gguf --threads "$threads" -r 2 -o jsonl
if [ -d pylib ]; then
  # llama.cpp beside it (llama-cpp-python 0.3.36 as scripts/setup/llama-server.sh builds it
  # on the dev machine): plain kernels, then its default path (weight repacking)
  PYTHONPATH="$PWD/pylib" step llama_plain python3 llama_bench.py llama8b-okla-q4_k_m.gguf \
    --threads "$threads" -r 2 --json --plain
  PYTHONPATH="$PWD/pylib" step llama_repack python3 llama_bench.py llama8b-okla-q4_k_m.gguf \
    --threads "$threads" -r 2 --json
fi
python3 e2e8b/summarize.py logs | tee logs/summary.md
echo "e2e done"
