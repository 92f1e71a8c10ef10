#!/usr/bin/env bash
# The Gemma 3 OKLA run on the GPU machine, over several device calls into one warm
# machine (a call carries at most 64 MiB; the base is 253 MB). Files live in ~/stash.
#   device.sh stash FILE...   copy carried pieces (base chunks, the xz binary: carry.sh)
#   device.sh train SECONDS   assemble the base, make the data, train until done or SECONDS
#   device.sh resume SECONDS  continue from the newest checkpoint
#   device.sh gate NAME CASES.jsonl SHARDS THREADS
#                             write the adapter as a GGUF LoRA (once, ungated: the gated
#                             export is one process, too slow for device time), then gate
#                             base + LoRA on CASES (suites/okla's checks and thresholds) in
#                             SHARDS processes of THREADS threads each;
#                             scripts/recipes/gemma3-okla/merge_shards.py joins them
# Each train/resume call copies the adapter, metrics and log to $OUT.
set -euo pipefail
STASH="$HOME/stash"
mkdir -p "$STASH"
BASE_SHA=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
cmd="$1"
shift
case "$cmd" in
stash)
  for f in "$@"; do cp "$f" "$STASH/"; done
  ls -la "$STASH"
  exit 0
  ;;
train | resume) limit="$1" ;;
gate) ;;

*) echo "unknown command $cmd" >&2; exit 2 ;;
esac
REPO="$PWD"
cd "$STASH"
TORCH_LIB="$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')/lib"
export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ ! -x okla-eval ]; then xz -dc okla-eval.xz > okla-eval && chmod +x okla-eval; fi
if [ "$cmd" = gate ]; then
  name="$1" cases="$REPO/$2" shards="$3" threads="$4"
  if [ ! -f lora.gguf ]; then
    ./okla-eval export --adapter run/adapter --base base/gemma3-270m-q4_k_m.gguf --as-lora f16 \
      --force --out lora.gguf 2>&1 | tee "$OUT/export.log"
    cp lora.gguf "$OUT/"
  fi
  lines=$(wc -l < "$cases")
  per=$(( (lines + shards - 1) / shards ))
  for k in $(seq 0 $((shards - 1))); do
    dir="shards/$name-$k"
    mkdir -p "$dir"
    tail -n +$((k * per + 1)) "$cases" | head -n "$per" > "$dir/okla_test.jsonl"
    sed -e '/^default_model/d' -e '/^default_lora/d' -e '/^eval_split/d' \
      -e "s#\"response.schema.json\"#\"$REPO/suites/okla/response.schema.json\"#" \
      -e "s#\"checks/#\"$REPO/suites/okla/checks/#" "$REPO/suites/okla/suite.toml" > "$dir/suite.toml"
    ./okla-eval gate --suite "$dir" --model base/gemma3-270m-q4_k_m.gguf --lora lora.gguf \
      --threads "$threads" --skip-loss --run-dir "$dir/run" > "$dir/gate.log" 2>&1 &
  done
  wait
  tail -n 30 shards/"$name"-*/gate.log
  echo "rows per shard: $per"
  # one file back ($OUT returns at most 8): each shard's run folder and log
  tar czf "$OUT/$name.tgz" shards/"$name"-*/run shards/"$name"-*/gate.log
  exit 0
fi
cp "$REPO/scripts/recipes/gemma3-okla/train.toml" .
if [ "$cmd" = train ]; then
  mkdir -p base
  cat g.0 g.r0 g.r1 g.r2 g.r3 > base/gemma3-270m-q4_k_m.gguf
  echo "$BASE_SHA  base/gemma3-270m-q4_k_m.gguf" | sha256sum -c -
  ./okla-eval data synth --seed 42 --count 600 --train-count 2400 --copy-drills 800 --out data
  sha256sum data/*.jsonl | tee "$OUT/data.sha256"
  flags=()
else
  flags=(--resume)
fi
# Bring the run back to $OUT while it trains (a call cut off by the session's device
# time still returns what $OUT holds): metrics, and the final adapter or else the newest
# checkpoint's (no optimizer state). Each file is renamed into place whole.
bring_back() {
  mkdir -p "$OUT/run/adapter"
  local src=run/adapter
  if [ -f run/adapter/adapter_model.safetensors ]; then
    rm -f "$OUT/run/adapter/trainer_state.json" # a checkpoint's, older than the final adapter
  else
    src=$(ls -d run/checkpoints/step-* 2>/dev/null | tail -n1) || true
  fi
  for f in run/metrics.jsonl "$src"/adapter_model.safetensors "$src"/adapter_config.json \
    "$src"/trainer_state.json; do
    [ -f "$f" ] || continue
    case "$f" in run/metrics.jsonl) dest="$OUT/run" ;; *) dest="$OUT/run/adapter" ;; esac
    cp "$f" "$dest/$(basename "$f").part" 2>/dev/null && mv "$dest/$(basename "$f").part" "$dest/$(basename "$f")" || true
  done
  return 0
}
( while sleep 15; do bring_back; done ) &
syncer=$!
status=0
timeout "$limit" ./okla-eval train --config train.toml "${flags[@]}" 2>&1 | tee -a "$OUT/train.log" || status=$?
kill "$syncer" 2>/dev/null || true
wait "$syncer" 2>/dev/null || true
bring_back
ls run run/checkpoints 2>/dev/null | tee "$OUT/ls.txt"
nvidia-smi --query-gpu=name,memory.used --format=csv,noheader >> "$OUT/ls.txt"
echo "train exit $status" | tee -a "$OUT/train.log"
