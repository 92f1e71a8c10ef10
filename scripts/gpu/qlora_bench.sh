#!/usr/bin/env bash
# Issue 8 part 4, one device call: our trainer's QLoRA step on Llama-3-8B shapes
# (examples/train_bench.rs), then the transformers + peft + bitsandbytes baseline
# (../shared/tools/hf_qlora_baseline.py, unchanged) on the same GPU, each with an
# NVML memory poller; prints the comparison (qlora_bench_summary.py).
# Prepared on the dev machine (see docs/train.md, "QLoRA benchmark") into
# $BENCH: train_bench (stripped), these scripts, hf_qlora_baseline.py and
# bitsandbytes 0.50.2 unpacked with only its CUDA 13 libraries (bnb-site.tar.gz).
set -euo pipefail
BENCH="${BENCH:-target/gpu-bench}"
OUT="${OUT:-/tmp/qlora-bench-out}"
mkdir -p "$OUT" /tmp/site
tar xzf "$BENCH/bnb-site.tar.gz" -C /tmp/site
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
TORCH_LIB="$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')/lib"
export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 "$BENCH/gpu_mem_poll.py" "$OUT/mem_ours.tsv" & poll=$!
"$BENCH/train_bench" --device cuda ${OURS_ARGS:-} > "$OUT/ours.json" 2> "$OUT/ours_stderr.txt" || echo "ours: exit $?"
kill "$poll"; wait "$poll" || true
tail -n 3 "$OUT/ours_stderr.txt"; cat "$OUT/ours.json"
python3 "$BENCH/gpu_mem_poll.py" "$OUT/mem_hf.tsv" & poll=$!
python3 "$BENCH/hf_windowed.py" "$BENCH/hf_qlora_baseline.py" ${HF_ARGS:-} > "$OUT/hf.json" 2> "$OUT/hf_stderr.txt" || echo "hf: exit $?"
kill "$poll"; wait "$poll" || true
tail -n 3 "$OUT/hf_stderr.txt"; cat "$OUT/hf.json"
python3 "$BENCH/qlora_bench_summary.py" "$OUT" | tee "$OUT/summary.txt"
