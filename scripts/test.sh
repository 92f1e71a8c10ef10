#!/usr/bin/env bash
# The test command (README.md): installs what the tests need on a fresh machine
# (every scripts/setup/*.sh, idempotent, cached under $OKLA_CACHE), then runs the
# whole test suite, and the trainer's tests when scripts/test-train.sh exists.
set -euo pipefail
cd "$(dirname "$0")/.."
export OKLA_CACHE="${OKLA_CACHE:-$HOME/.cache/okla-eval}"
mkdir -p "$OKLA_CACHE"
for setup in scripts/setup/*.sh; do
  [ -e "$setup" ] || continue
  echo "== setup: $setup"
  bash "$setup"
done
fase2="../shared/reference/okla_fase2"
if [ -d "$fase2" ]; then
  echo "== the real FASE 2 files are at $fase2: the fase2_* tests read them"
else
  echo "== NOTE: $fase2 is absent: the fase2_* tests that read the real FASE 2 files SKIP"
fi
echo "== cargo test (every crate but okla-train)"
cargo test
if [ -f scripts/test-train.sh ]; then
  echo "== trainer tests (feature train)"
  bash scripts/test-train.sh
fi
