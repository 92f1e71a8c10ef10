#!/usr/bin/env bash
# One device call on the GPU machine: parity of the trainer with transformers +
# peft + torch.optim.AdamW (f32 and bf16) for each architecture of $ARCHS (default
# "llama gemma3"; printed to $OUT/parity.txt for llama, $OUT/parity_<arch>.txt for
# the others), then (unless SMOKE=0) a smoke run of `okla-eval train`
# (QLoRA NF4, bf16, paged 8-bit AdamW, checkpointing) on the tiny random Llama
# with the real Llama 3 vocabulary. Binaries are built on the dev machine:
#   source scripts/train-env.sh
#   cargo build --features train --bin okla-eval --example train_parity
#   strip -o target/gpu/okla-eval target/debug/okla-eval
#   strip -o target/gpu/train_parity target/debug/examples/train_parity
# and carried as target/gpu. Results go to $OUT.
set -euo pipefail
OUT="${OUT:-/tmp/train-gpu-out}"
WORK=/tmp/train-parity
mkdir -p "$OUT" "$WORK"
TORCH_LIB="$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')/lib"
export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
python3 -c 'import torch,transformers,peft;print("torch",torch.__version__,"transformers",transformers.__version__,"peft",peft.__version__)' | tee -a "$OUT/gpu.txt"
for arch in ${ARCHS:-llama gemma3}; do
  dir="$WORK/$arch" suffix=""
  [ "$arch" = llama ] && dir="$WORK" || suffix="_$arch"
  python3 scripts/gpu/gpu_parity.py prepare "$dir" "$arch"
  for dtype in f32 bf16; do target/gpu/train_parity "$dir" "$dtype"; done
  python3 scripts/gpu/gpu_parity.py compare "$dir" | tee "$OUT/parity$suffix.txt" || true
  cp "$dir/parity.json" "$OUT/parity$suffix.json"
done
[ "${SMOKE:-1}" = 0 ] && exit 0
cp models/llama3/tokenizer.json models/llama3/tokenizer_config.json "$WORK/model/"
/usr/bin/time -v target/gpu/okla-eval train --model "$WORK/model" \
  --train-file suites/okla/okla_eval.jsonl --eval-file suites/okla/okla_test.jsonl \
  --output-dir "$WORK/run" --max-steps 20 --eval-every 10 --save-every 10 --max-seq-len 2048 \
  2> "$OUT/train_stderr.txt" || echo "train exit $?"
tail -n 5 "$OUT/train_stderr.txt"
cp "$WORK/run/metrics.jsonl" "$WORK/run/curves.svg" "$WORK/run/recipe.json" "$OUT/" 2>/dev/null || true
ls -R "$WORK/run" > "$OUT/run_tree.txt" 2>/dev/null || true
