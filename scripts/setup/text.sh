#!/usr/bin/env bash
# Python packages the text reference scripts need (scripts/reference/text_reference_vectors.py,
# scripts/reference/fase2_token_totals.py): the `tokenizers` package and jinja2, in the shared
# reference venv. Idempotent. The Rust tests read committed vectors and need none of it.
set -euo pipefail
CACHE="${OKLA_CACHE:-$HOME/.cache/okla-eval}"
VENV="$CACHE/pyref"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" - <<'PY' || "$VENV/bin/pip" install --quiet "tokenizers==0.23.3" "jinja2==3.1.6"
import importlib.metadata as m
assert m.version("tokenizers") == "0.23.3" and m.version("jinja2") == "3.1.6"
PY
