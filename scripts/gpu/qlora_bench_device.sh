#!/usr/bin/env bash
# The device call of docs/train.md's "QLoRA benchmark": the bench with the 8-bit
# AdamW states paged to host memory (the recipe's default) and kept on the GPU,
# then the HF baseline (qlora_bench.sh), then the transformers + peft parity
# (gpu_parity.py, bf16 under autocast). Everything comes from $BENCH (see
# prepare_gpu_bench.sh); results go to $OUT. MEMORY_ONLY=1 skips the paged run and
# the parity (about 45 s of device time) when only speed and memory are wanted.
set -uo pipefail
BENCH="${BENCH:-target/gpu-bench}"
OUT="${OUT:-/tmp/qlora-bench-out}"
mkdir -p "$OUT"
OUT="$OUT/unpaged" OURS_ARGS="--page-optimizer false" HF_ARGS="--steps 6" bash "$BENCH/qlora_bench.sh" 2>&1 | tail -n 14
rm -f "$OUT"/unpaged/mem_*.tsv
TORCH_LIB="$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')/lib"
export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ -z "${MEMORY_ONLY:-}" ]; then
  mkdir -p "$OUT/paged"
  PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True "$BENCH/train_bench" --device cuda > "$OUT/paged/ours.json" 2>/dev/null
  echo "paged:"; cat "$OUT/paged/ours.json"
  python3 "$BENCH/gpu_parity.py" prepare /tmp/parity > /dev/null
  for d in f32 bf16; do "$BENCH/train_parity" /tmp/parity "$d" > /dev/null; done
  python3 "$BENCH/gpu_parity.py" compare /tmp/parity | tee "$OUT/parity.txt"
fi
# Memory without the caching allocator: NVML then follows the live allocations;
# the baseline's own max_memory_allocated calibrates what NVML adds (context).
NOCACHE=/tmp/qlora-bench-nocache
mkdir -p "$NOCACHE"
export PYTORCH_NO_CUDA_MEMORY_CACHING=1 PYTHONPATH=/tmp/site
python3 "$BENCH/gpu_mem_poll.py" "$NOCACHE/mem_ours.tsv" & poll=$!
"$BENCH/train_bench" --device cuda --steps 3 --page-optimizer false > "$NOCACHE/ours.json" 2>/dev/null
kill "$poll"; wait "$poll"
python3 "$BENCH/gpu_mem_poll.py" "$NOCACHE/mem_hf.tsv" & poll=$!
python3 "$BENCH/hf_windowed.py" "$BENCH/hf_qlora_baseline.py" --steps 3 > "$NOCACHE/hf.json" 2>/dev/null
kill "$poll"; wait "$poll"
echo "== without the caching allocator (memory only; its step times are not comparable) =="
python3 "$BENCH/qlora_bench_summary.py" "$NOCACHE"
# PIECES="N ..." (optional): our trainer again per MLP piece size N (intermediate
# values; 58720256 = one piece at 8B): tokens/s with the caching allocator, then
# the NVML peak without it, printed one line each.
for n in ${PIECES:-}; do
  unset PYTORCH_NO_CUDA_MEMORY_CACHING
  t=$(PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True "$BENCH/train_bench" --device cuda \
    --page-optimizer false --mlp-piece-values "$n" 2>/dev/null | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["tokens_per_s"])')
  python3 "$BENCH/gpu_mem_poll.py" "$NOCACHE/mem_pieces.tsv" & poll=$!
  PYTORCH_NO_CUDA_MEMORY_CACHING=1 "$BENCH/train_bench" --device cuda --steps 3 --page-optimizer false \
    --mlp-piece-values "$n" > "$NOCACHE/pieces.json" 2>/dev/null
  kill "$poll"; wait "$poll"
  peak=$(python3 - "$BENCH" "$NOCACHE" <<'PY'
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from qlora_bench_summary import peak_in
d = Path(sys.argv[2]); r = json.loads((d / "pieces.json").read_text())
print(f"{peak_in(d / 'mem_pieces.tsv', r['t_steps_start'], r['t_steps_end']):.2f}")
PY
)
  echo "mlp pieces of $n values: ours $t tokens/s (caching allocator), peak $peak GiB (NVML, no caching allocator)"
done
