#!/usr/bin/env python3
"""Time llama.cpp's llama_model_quantize in-process (no interpreter start-up in the
figure): quantize IN to OUT ITERS times with THREADS threads, print the total
seconds. benches/gguf_quantize.rs calls this for its llama.cpp side.

usage: scripts/llama_cpp/time_llama_quantize.py IN OUT FTYPE THREADS ITERS  (pyref venv python)
"""
import os
import sys
import time

import llama_cpp


def main() -> None:
    src, dst, ftype, threads, iters = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = threads
    # llama.cpp logs every tensor; keep stdout for the figure only.
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(2)
    os.dup2(devnull, 2)
    start = time.perf_counter()
    for _ in range(iters):
        if llama_cpp.llama_model_quantize(src.encode(), dst.encode(), params) != 0:
            os.dup2(saved, 2)
            sys.exit("llama_model_quantize failed")
    elapsed = time.perf_counter() - start
    os.dup2(saved, 2)
    print(f"{elapsed:.6f}")


if __name__ == "__main__":
    main()
