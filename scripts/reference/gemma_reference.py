#!/usr/bin/env python3
"""Reference tensor table of the Gemma 3 270M Q4_K_M GGUF, made with gguf-py.

For every tensor: name, ggml type, shape (ggml order), absolute data offset, byte
count, sha256 of the raw bytes, and sha256 of gguf-py's dequantized float32
(little-endian) values. tests/gguf_gemma.rs compares our reader (and our
dequantizers) against this file.

usage: scripts/reference/gemma_reference.py [GGUF] > tests/data/gguf/gemma3_270m_q4_k_m.tsv
(run with the pyref venv's python; GGUF defaults to $OKLA_CACHE/gemma3-270m-q4_k_m.gguf)
"""
import hashlib
import os
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize


def main() -> None:
    cache = os.environ.get("OKLA_CACHE", os.path.expanduser("~/.cache/okla-eval"))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(cache, "gemma3-270m-q4_k_m.gguf")
    reader = GGUFReader(path)
    print("name\ttype\tshape\toffset\tbytes\tsha256_raw\tsha256_f32")
    for t in reader.tensors:
        raw = np.ascontiguousarray(t.data).tobytes()
        values = dequantize(t.data, t.tensor_type).astype("<f4", copy=False)
        shape = ",".join(str(int(d)) for d in t.shape)
        print(
            f"{t.name}\t{t.tensor_type.name}\t{shape}\t{t.data_offset}\t{t.n_bytes}\t"
            f"{hashlib.sha256(raw).hexdigest()}\t{hashlib.sha256(values.tobytes()).hexdigest()}"
        )


if __name__ == "__main__":
    main()
