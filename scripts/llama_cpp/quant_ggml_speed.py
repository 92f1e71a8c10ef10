#!/usr/bin/env python3
"""Single-thread quantize throughput of llama.cpp's reference quantizers (ggml through
llama-cpp-python), on the same 16 Ki weight-like values as benches/quant.rs, to compare
with `cargo bench --bench quant -- quantize_row` run in the same window. Includes the
ctypes call overhead (a few microseconds per row).

Run: $OKLA_CACHE/pyref/bin/python scripts/llama_cpp/quant_ggml_speed.py
"""
import os
import sys
import time

import numpy as np

# quant_vectors.py (the reference-vector generator) holds the ctypes bindings to ggml.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from quant_vectors import TYPES, ggml_quantize, load_ggml  # noqa: E402

ROW = 16 * 1024


def main():
    ggml, _ = load_ggml()
    i = np.arange(ROW, dtype=np.float32)
    x = (np.sin(i * np.float32(12.9898)) * np.float32(43758.547)) % 1 * np.float32(0.05)
    x = x.astype(np.float32)
    for name, type_id in TYPES.items():
        ggml_quantize(ggml, type_id, x)
        reps, start = 0, time.perf_counter()
        while time.perf_counter() - start < 2.0:
            ggml_quantize(ggml, type_id, x)
            reps += 1
        elapsed = (time.perf_counter() - start) / reps
        print(f"{name:5} {ROW / elapsed / 1e6:8.2f} Melem/s")


if __name__ == "__main__":
    main()
