#!/usr/bin/env bash
# Installs what tests/http_backend.rs needs: llama-cpp-python's OpenAI-compatible server
# in the reference venv. (The tests write their own tiny GGUF with `okla-eval gguf tiny`'s
# library code.) Idempotent: each step is skipped when its result is already there.
set -euo pipefail

cache="${OKLA_CACHE:-$HOME/.cache/okla-eval}"
venv="$cache/pyref"

mkdir -p "$cache"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
py="$venv/bin/python"

if ! "$py" -c "import llama_cpp" 2>/dev/null; then
  # Builds llama.cpp from source (several minutes on 2 cores).
  "$venv/bin/pip" install -q "llama-cpp-python==0.3.36"
fi
if ! "$py" -c "import llama_cpp.server.app" 2>/dev/null; then
  # The `server` extra of llama-cpp-python 0.3.36.
  "$venv/bin/pip" install -q "uvicorn>=0.22.0" "fastapi>=0.100.0" "pydantic-settings>=2.0.1" \
    "sse-starlette>=1.6.1" "starlette-context>=0.3.6,<0.4" "PyYAML>=5.1"
fi
echo "llama-server setup ok: $("$py" -c 'import llama_cpp; print("llama-cpp-python", llama_cpp.__version__)')"
