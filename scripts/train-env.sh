#!/usr/bin/env bash
# Source this to build or run the `train` feature: points tch at the cached
# PyTorch 2.11.0 venv made by scripts/setup/torch.sh.
TORCH_VENV="${OKLA_CACHE:-$HOME/.cache/okla-eval}/torch"
if [ ! -x "$TORCH_VENV/bin/python" ]; then
  echo "no torch venv at $TORCH_VENV: run scripts/setup/torch.sh first" >&2
  return 1 2>/dev/null || exit 1
fi
export PATH="$TORCH_VENV/bin:$PATH"
export LIBTORCH_USE_PYTORCH=1
TORCH_LIB="$(ls -d "$TORCH_VENV"/lib/python3*/site-packages/torch/lib | head -n1)"
export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
