#!/usr/bin/env python3
"""Quantize one F16/F32 GGUF with llama.cpp's llama_model_quantize (via
llama-cpp-python) and with `okla-eval gguf quantize`, same thread count, and compare:
metadata, tensor-type table, and every tensor's bytes (whole-file sha256 too).
Prints wall times side by side. Exit status 1 when the type tables or metadata differ.

usage: scripts/llama_cpp/compare_llama_quantize.py IN.gguf [--types q4_k_m,q8_0,f16]
         [--threads 2] [--okla target/release/okla-eval] [--workdir DIR]
(run with the pyref venv's python)
"""
import argparse
import hashlib
import os
import subprocess
import sys
import time

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize
import llama_cpp

FTYPES = {"q4_k_m": 15, "q8_0": 7, "f16": 1}


def llama_quantize(src: str, dst: str, ftype: int, threads: int) -> float:
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = threads
    start = time.perf_counter()
    rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), params)
    elapsed = time.perf_counter() - start
    if rc != 0:
        sys.exit(f"llama_model_quantize failed with {rc}")
    return elapsed


def okla_quantize(okla: str, src: str, dst: str, name: str, threads: int) -> float:
    start = time.perf_counter()
    subprocess.run([okla, "gguf", "quantize", src, dst, "--type", name,
                    "--threads", str(threads), "--quiet"], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def field_value(field):
    return [bytes(field.parts[i]).hex() for i in field.data] + [t.name for t in field.types]


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def compare(ref_path: str, ours_path: str) -> bool:
    ref, ours = GGUFReader(ref_path), GGUFReader(ours_path)
    ok = True
    ref_kv = {k: field_value(f) for k, f in ref.fields.items()}
    our_kv = {k: field_value(f) for k, f in ours.fields.items()}
    if list(ref_kv) != list(our_kv):
        print(f"  metadata keys differ:\n    llama.cpp {list(ref_kv)}\n    okla      {list(our_kv)}")
        ok = False
    bad_kv = [k for k in ref_kv if k in our_kv and ref_kv[k] != our_kv[k]]
    if bad_kv:
        print(f"  metadata values differ: {bad_kv}")
        ok = False
    ref_table = [(t.name, t.tensor_type.name, list(map(int, t.shape))) for t in ref.tensors]
    our_table = [(t.name, t.tensor_type.name, list(map(int, t.shape))) for t in ours.tensors]
    if ref_table != our_table:
        ok = False
        for a, b in zip(ref_table, our_table):
            if a != b:
                print(f"  tensor table differs: llama.cpp {a} vs okla {b}")
        if len(ref_table) != len(our_table):
            print(f"  tensor count differs: {len(ref_table)} vs {len(our_table)}")
    counts = {}
    for _, ty, _ in ref_table:
        counts[ty] = counts.get(ty, 0) + 1
    same, differ = 0, []
    for a, b in zip(ref.tensors, ours.tensors):
        if bytes(a.data.tobytes()) == bytes(b.data.tobytes()):
            same += 1
        else:
            da = dequantize(a.data, a.tensor_type).astype(np.float64)
            db = dequantize(b.data, b.tensor_type).astype(np.float64)
            differ.append((a.name, a.tensor_type.name, float(np.max(np.abs(da - db))) if da.shape == db.shape else float("nan")))
    print(f"  tensor types: {', '.join(f'{k} x{v}' for k, v in sorted(counts.items()))}")
    print(f"  tensor table identical: {ref_table == our_table}; metadata identical: {list(ref_kv) == list(our_kv) and not bad_kv}")
    print(f"  tensors with identical bytes: {same}/{len(ref.tensors)}")
    for name, ty, diff in differ[:10]:
        print(f"    differs: {name} ({ty}), max |dequantized difference| {diff:.3g}")
    identical = sha256(ref_path) == sha256(ours_path)
    print(f"  whole file identical (sha256): {identical}")
    return ok


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("--types", default="q4_k_m,q8_0,f16")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--okla", default="target/release/okla-eval")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    workdir = args.workdir or os.path.dirname(os.path.abspath(args.input))
    base = os.path.splitext(os.path.basename(args.input))[0]
    all_ok = True
    for name in args.types.split(","):
        ref = os.path.join(workdir, f"{base}.llama-cpp.{name}.gguf")
        ours = os.path.join(workdir, f"{base}.okla.{name}.gguf")
        t_ref = llama_quantize(args.input, ref, FTYPES[name], args.threads)
        t_ours = okla_quantize(args.okla, args.input, ours, name, args.threads)
        print(f"{name}: llama-quantize {t_ref:.2f} s, okla-eval {t_ours:.2f} s "
              f"(okla/llama.cpp = {t_ours / t_ref:.2f}), {args.threads} threads")
        all_ok &= compare(ref, ours)
    sys.exit(0 if all_ok else 1)


if __name__ == "__main__":
    main()
