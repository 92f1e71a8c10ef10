#!/usr/bin/env python3
"""Reference vectors for the Gemma 3 export: llama.cpp's llama_model_quantize (default
parameters, as llama-quantize) run on the F16 and F32 GGUFs our exporter writes from the
real Gemma 3 270M Q4_K_M base (dequantized). For every file: its whole sha256; for every
tensor of every quantized output: its type and the sha256 of its bytes (gguf-py's
reading). tests/gemma3_export.rs rebuilds the inputs and its own outputs and compares.

Rows (tab-separated): file, tensor (`*` for the whole file), type, sha256. Files:
  input.f16, input.f32         our exports (examples/export_gguf.rs)
  f16.q4_k_m, f16.q8_0         llama.cpp's quantization of input.f16
  f32.q4_k_m, f32.q8_0         llama.cpp's quantization of input.f32

usage (pyref venv python, from the repo root):
  cargo build --release --example export_gguf
  B=$OKLA_CACHE/gemma3-270m-q4_k_m.gguf
  target/release/examples/export_gguf $B /tmp/gemma3.f16.gguf f16
  target/release/examples/export_gguf $B /tmp/gemma3.f32.gguf f32
  scripts/reference/gemma3_export_vectors.py /tmp/gemma3.f16.gguf /tmp/gemma3.f32.gguf \
      > tests/data/gguf/gemma3_export_llama_cpp.tsv
"""
import hashlib
import os
import sys
import tempfile

import llama_cpp
from gguf import GGUFReader

FTYPES = {"q4_k_m": 15, "q8_0": 7}


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def rows(label: str, path: str, per_tensor: bool) -> None:
    print(f"{label}\t*\t-\t{sha256_file(path)}")
    if not per_tensor:
        return
    for t in GGUFReader(path).tensors:
        digest = hashlib.sha256(t.data.tobytes()).hexdigest()
        print(f"{label}\t{t.name}\t{t.tensor_type.name}\t{digest}")


def main() -> None:
    inputs = {"f16": sys.argv[1], "f32": sys.argv[2]}
    print("file\ttensor\ttype\tsha256")
    for src, path in inputs.items():
        rows(f"input.{src}", path, per_tensor=False)
    with tempfile.TemporaryDirectory() as tmp:
        for src, path in inputs.items():
            for name, ftype in FTYPES.items():
                out = os.path.join(tmp, f"{src}.{name}.gguf")
                params = llama_cpp.llama_model_quantize_default_params()
                params.ftype = ftype
                if llama_cpp.llama_model_quantize(path.encode(), out.encode(), params) != 0:
                    sys.exit(f"llama_model_quantize failed for {src} -> {name}")
                rows(f"{src}.{name}", out, per_tensor=True)
                os.remove(out)


if __name__ == "__main__":
    main()
