#!/usr/bin/env bash
# Train the shipped default model (models/okla-tiny) on the GPU machine, export it
# through the gate, and gate the exported file on the test split. Binaries are
# built on the dev machine and carried as target/gpu:
#   source scripts/train-env.sh && cargo build --features train && cargo build --release
#   strip -o target/gpu/okla-eval-train target/debug/okla-eval
#   strip -o target/gpu/okla-eval target/release/okla-eval
# Usage there: bash scripts/train/default_model.sh [extra `train` flags]
# (WEIGHTS_ONLY=1: bring the trained run folder back instead of exporting there)
# Results go to $OUT: the GGUF gzipped, and results.tar.gz (metrics, curves,
# logs, gate summaries and reports).
set -euo pipefail
REPO="$PWD"
FINAL="${OUT:-/tmp/default-model-out}"
OUT=/tmp/okla-tiny-results
WORK=/tmp/okla-tiny
TRAIN_COUNT="${TRAIN_COUNT:-16000}"
rm -rf "$WORK" "$OUT" && mkdir -p "$WORK/base" "$OUT" "$FINAL"
TORCH_LIB="$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')/lib"
export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
TRAIN_BIN="$REPO/target/gpu/okla-eval-train"
BIN="$REPO/target/gpu/okla-eval"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
cp models/okla-tiny/config.json models/llama3/tokenizer.json models/llama3/tokenizer_config.json "$WORK/base/"
"$BIN" data synth --seed 42 --count 600 --train-count "$TRAIN_COUNT" --out "$WORK/data"
sha256sum "$WORK"/data/*.jsonl | sed "s#$WORK/##" | tee "$OUT/data_sha256.txt"
cd "$WORK"
/usr/bin/time -v "$TRAIN_BIN" train --config "$REPO/models/okla-tiny/train.toml" "$@" 2> "$OUT/train_stderr.txt" \
  || { tail -n 30 "$OUT/train_stderr.txt"; exit 1; }
grep -v '^\s*$' "$OUT/train_stderr.txt" | tr '\r' '\n' | grep -v '^\s*\[' | tail -n 40 > "$OUT/train_log.txt" || true
cp run/metrics.jsonl run/curves.svg run/recipe.json "$OUT/"
if [ -n "${WEIGHTS_ONLY:-}" ]; then
  # The run folder travels back (weights split under the 16 MB file limit) and is
  # exported and gated on the dev machine.
  mkdir -p "$WORK/runback/model"
  cp run/recipe.json "$WORK/runback/"; cp run/model/config.json "$WORK/runback/model/"
  split -b 15M -d run/model/model.safetensors "$FINAL/model.safetensors.part"
  tar -czf "$FINAL/results.tar.gz" -C "$OUT" . -C "$WORK" runback
  ls -la "$FINAL"; exit 0
fi
set +e
"$BIN" export --run run --tokenizer base --suite "$REPO/suites/okla" --threads 16 \
  --out "$WORK/okla-tiny-q4_k_m.gguf" > "$OUT/export_stdout.txt" 2> "$OUT/export_stderr.txt"
echo "export exit $?" | tee -a "$OUT/export_stdout.txt"
set -e
cp run/export-gate/summary.md "$OUT/export_gate_summary.md" 2>/dev/null || true
cp run/export-gate/report.json "$OUT/export_gate_report.json" 2>/dev/null || true
MODEL="$WORK/okla-tiny-q4_k_m.gguf"
if [ ! -f "$MODEL" ]; then
  MODEL="$WORK/okla-tiny-q4_k_m.forced.gguf"
  "$BIN" export --run run --tokenizer base --suite "$REPO/suites/okla" --force --out "$MODEL" 2>> "$OUT/export_stderr.txt"
fi
if [ -n "${TEST_GATE:-}" ]; then
  "$BIN" gate --model "$MODEL" --suite "$REPO/suites/okla" --threads 16 --run-dir "$WORK/test-gate" \
    > "$OUT/test_gate_stdout.txt" 2>&1 || echo "test gate exit $?" >> "$OUT/test_gate_stdout.txt"
fi
cp "$WORK/test-gate/summary.md" "$OUT/test_gate_summary.md" 2>/dev/null || true
cp "$WORK/test-gate/report.json" "$OUT/test_gate_report.json" 2>/dev/null || true
cp "$WORK/test-gate/predictions.jsonl" "$OUT/test_gate_predictions.jsonl" 2>/dev/null || true
gzip -c "$MODEL" > "$FINAL/$(basename "$MODEL").gz"
tar -czf "$FINAL/results.tar.gz" -C "$OUT" .
ls -la "$OUT" "$FINAL"
