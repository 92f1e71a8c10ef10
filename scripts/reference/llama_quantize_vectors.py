#!/usr/bin/env python3
"""Reference outputs of llama.cpp's llama-quantize on the synthetic llama model
(examples/tiny_llama.rs): for each file type, the sha256 of llama.cpp's output file
and its tensor-type table. tests/gguf_quantize.rs quantizes the same input with
`gguf quantize` and must produce byte-identical files.

usage (pyref venv python, from the repo root):
  cargo run --example tiny_llama -- /tmp/tiny.gguf
  scripts/reference/llama_quantize_vectors.py /tmp/tiny.gguf > tests/data/gguf/tiny_llama_llama_cpp.tsv
"""
import hashlib
import os
import sys
import tempfile

import llama_cpp
from gguf import GGUFReader

FTYPES = {"input": None, "q4_k_m": 15, "q8_0": 7, "f16": 1}


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main() -> None:
    src = sys.argv[1]
    print("type\tsha256\ttensor_types")
    with tempfile.TemporaryDirectory() as tmp:
        for name, ftype in FTYPES.items():
            path = src
            if ftype is not None:
                path = os.path.join(tmp, f"{name}.gguf")
                params = llama_cpp.llama_model_quantize_default_params()
                params.ftype = ftype
                params.nthread = 2
                if llama_cpp.llama_model_quantize(src.encode(), path.encode(), params) != 0:
                    sys.exit(f"llama_model_quantize failed for {name}")
            table = ",".join(f"{t.name}={t.tensor_type.name}" for t in GGUFReader(path).tensors)
            print(f"{name}\t{sha256(path)}\t{table}")


if __name__ == "__main__":
    main()
