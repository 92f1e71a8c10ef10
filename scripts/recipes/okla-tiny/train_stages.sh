#!/usr/bin/env bash
# One device call of the okla-tiny recipe (models/okla-tiny/recipe.md): train one or
# more stage folders side by side on one GPU machine (a tiny model leaves it mostly
# idle), export each through the gate on the eval split, and bring back one
# NAME.tar.gz per folder: its exported GGUF, trained weights, metrics, curves, data
# sha256s and gate report.
#   usage there: bash scripts/recipes/okla-tiny/train_stages.sh DIR...
# Each DIR (recipe.md writes the three of the shipped model) holds a config.json
# (architecture), a train.toml whose paths are the ones prepared here (model = "base",
# data/…, output_dir = "run") and synth_args, the `data synth` flags of its data beside
# --seed 42 --count 600 (e.g. "--train-count 32000 --copy-drills 16000"), and
# optionally:
#   pretrain_args  flags of copy_probe.py (here) for a copy curriculum trained first
#                  (for at most PRETRAIN_TIMEOUT s), whose final weights become base/
#                  (from_scratch = false); with the corpus loss vocabulary,
#                  curriculum_handoff.py (here) then fits its embedding rows to the
#                  OKLA corpus;
#   continue_from  the path (relative to the repository, e.g. under target/, carried)
#                  of a returned stage's model.safetensors to train on from;
#   mix_args       copy_probe.py flags for copy conversations appended to the OKLA
#                  train split (e.g. "--items okla --train 16000");
#   transform      the path (relative to the repository) of a script that rewrites
#                  the OKLA train split in place before the mix is appended
#                  (unpriced_inventory.py here).
# FORCE_ONLY=1 skips the gate on the device: every folder is exported with --force,
# to be gated where CPU time is cheaper.
# Binaries are built on the dev machine and carried as target/gpu:
#   source scripts/train-env.sh && cargo build --features train && cargo build --release
#   strip -o target/gpu/okla-eval-train target/debug/okla-eval
#   strip -o target/gpu/okla-eval target/release/okla-eval
# Environment:
#   PRETRAIN_TIMEOUT (s, default 200): the copy curriculum's limit (its newest
#   checkpoint is used when it is stopped).
#   TRAIN_TIMEOUT (s, default 385): a run still training then is stopped and its
#   newest checkpoint exported. Three folders' exports and gates take ~200 s
#   more, so 385 keeps a call inside its 600 s.
set -uo pipefail
REPO="$PWD"
HERE="$REPO/scripts/recipes/okla-tiny"
FINAL="${OUT:-/tmp/default-model-sweep}"
WORK=/tmp/okla-sweep
TRAIN_TIMEOUT="${TRAIN_TIMEOUT:-385}"
PRETRAIN_TIMEOUT="${PRETRAIN_TIMEOUT:-200}"
rm -rf "$WORK" && mkdir -p "$WORK" "$FINAL"
TORCH_LIB="$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')/lib"
export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
TRAIN_BIN="$REPO/target/gpu/okla-eval-train"
BIN="$REPO/target/gpu/okla-eval"
THREADS=$(( $(nproc) / $# ))
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$WORK/gpu.txt"

candidate() {
  local name; name="$(basename "$1")"
  local dir="$WORK/$name" res="$WORK/$name/results"
  mkdir -p "$dir/base" "$res"
  cp "$1/config.json" "$1/train.toml" "$1/synth_args" "$WORK/gpu.txt" "$res/"
  cp "$1/config.json" models/llama3/tokenizer.json models/llama3/tokenizer_config.json "$dir/base/"
  # shellcheck disable=SC2046
  "$BIN" data synth --seed 42 --count 600 $(cat "$1/synth_args") --out "$dir/data" > "$res/synth.txt"
  if [ -f "$1/transform" ]; then
    cp "$1/transform" "$res/"
    python3 "$REPO/$(cat "$1/transform")" "$dir/data/okla_train.jsonl" > "$res/transform.txt"
  fi
  # copy_probe.py's --items okla copies the listing values of this OKLA split
  local okla_items=(--okla-items "$dir/data/okla_train.jsonl")
  if [ -f "$1/mix_args" ]; then
    cp "$1/mix_args" "$res/"
    # shellcheck disable=SC2046
    python3 "$HERE/copy_probe.py" "$dir/mix" $(cat "$1/mix_args") "${okla_items[@]}" \
      --config "$1/config.json" > "$res/mix.txt"
    cat "$dir/mix/data/train.jsonl" >> "$dir/data/okla_train.jsonl"
  fi
  if [ -f "$1/pretrain_args" ]; then
    cp "$1/pretrain_args" "$res/"
    # shellcheck disable=SC2046
    python3 "$HERE/copy_probe.py" "$dir/pretrain" $(cat "$1/pretrain_args") --device cuda \
      --config "$1/config.json" "${okla_items[@]}" > "$res/pretrain.txt"
    (cd "$dir/pretrain" && OMP_NUM_THREADS=$THREADS timeout "$PRETRAIN_TIMEOUT" "$TRAIN_BIN" train \
      --config train.toml > "$res/pretrain_stdout.txt" 2> "$res/pretrain_stderr.txt")
    cp "$dir/pretrain/run/metrics.jsonl" "$res/pretrain_metrics.jsonl"
    local learned="$dir/pretrain/run/model"
    [ -d "$learned" ] || learned="$(ls -d "$dir"/pretrain/run/checkpoints/step-* | tail -n 1)"
    cp "$learned/model.safetensors" "$dir/base/"
    echo "pretrained: $learned" >> "$res/pretrain.txt"
  elif [ -f "$1/continue_from" ]; then
    # a returned candidate's weights (carried under target/, named relative to the repo)
    cp "$1/continue_from" "$res/"
    cp "$REPO/$(cat "$1/continue_from")" "$dir/base/model.safetensors"
  fi
  if [ -f "$1/pretrain_args" ] && grep -q '^loss_vocabulary = "corpus"' "$1/train.toml"; then
    python3 "$HERE/curriculum_handoff.py" "$dir/base/model.safetensors" \
      "$dir/data/okla_train.jsonl" models/llama3/tokenizer.json >> "$res/pretrain.txt"
  fi
  cd "$dir" || return
  sha256sum data/*.jsonl > "$res/data_sha256.txt"
  local start=$SECONDS
  OMP_NUM_THREADS=$THREADS timeout "$TRAIN_TIMEOUT" "$TRAIN_BIN" train --config "$1/train.toml" \
    > "$res/train_stdout.txt" 2> "$res/train_stderr.txt"
  echo "train exit $? after $((SECONDS - start)) s" | tee "$res/train_exit.txt"
  local run=run
  if [ ! -d run/model ]; then
    # Stopped mid-run: export the newest checkpoint as if it were the final model.
    local newest; newest="$(ls -d run/checkpoints/step-* 2>/dev/null | tail -n 1)"
    [ -n "$newest" ] || { tar -czf "$FINAL/$name.tar.gz" -C "$res" .; return; }
    mkdir -p partial && cp run/recipe.json partial/ && cp -r "$newest" partial/model
    echo "exported $newest" >> "$res/train_exit.txt"
    run=partial
  fi
  cp run/metrics.jsonl run/curves.svg "$res/" 2>/dev/null
  # the trained weights too, so that a later call can continue from them
  cp "$run/model/model.safetensors" "$res/" 2>/dev/null
  local model="$dir/$name-q4_k_m.gguf"
  [ -n "${FORCE_ONLY:-}" ] ||
    "$BIN" export --run "$run" --tokenizer base --suite "$REPO/suites/okla" --threads "$THREADS" \
      --out "$model" > "$res/export_stdout.txt" 2> "$res/export_stderr.txt"
  echo "export exit $?" >> "$res/export_stdout.txt"
  cp "$run/export-gate/summary.md" "$res/export_gate_summary.md" 2>/dev/null
  cp "$run/export-gate/predictions.jsonl" "$res/export_gate_predictions.jsonl" 2>/dev/null
  if [ ! -f "$model" ]; then
    model="$dir/$name-q4_k_m.forced.gguf"
    "$BIN" export --run "$run" --tokenizer base --suite "$REPO/suites/okla" --force --out "$model" \
      2>> "$res/export_stderr.txt"
  fi
  cp "$model" "$res/"
  tar -czf "$FINAL/$name.tar.gz" -C "$res" .
}

# one file back per candidate; a device call returns at most 8
[ $# -le 8 ] || { echo "at most 8 candidates per call" >&2; exit 2; }
for dir in "$@"; do
  candidate "$(cd "$dir" && pwd)" &
done
wait
ls -la "$FINAL"
