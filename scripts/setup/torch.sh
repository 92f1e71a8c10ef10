#!/usr/bin/env bash
# Installs PyTorch 2.11.0 (the libtorch that tch 0.24 links against) into a cached
# venv outside the clone, for building and testing the `train` feature.
# Idempotent: does nothing when the venv already holds torch 2.11.0.
set -euo pipefail
CACHE="${OKLA_CACHE:-$HOME/.cache/okla-eval}"
VENV="$CACHE/torch"
WANT="2.11.0"
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import torch,sys; sys.exit(0 if torch.__version__.split('+')[0]=='$WANT' else 1)" 2>/dev/null; then
  echo "torch $WANT already in $VENV"
  exit 0
fi
mkdir -p "$CACHE"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet "torch==$WANT" numpy
"$VENV/bin/python" -c "import torch; print('installed torch', torch.__version__, 'into $VENV')"
