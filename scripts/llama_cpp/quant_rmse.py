#!/usr/bin/env python3
"""RMSE of every crates/formats/src/quant type on gaussian and on real weights, checked against llama.cpp.

Real weights: every 2-D weight tensor of the Gemma 3 270M Q4_K_M GGUF
($OKLA_CACHE/gemma3-270m-q4_k_m.gguf, assembled by scripts/setup/), dequantized with
gguf-py, first CAP values of each. Gaussian: N(0, 1), seeded.

For both sets, quantizes and dequantizes every type with llama.cpp (ggml through
llama-cpp-python) and with our `quant_rmse` example, checks that the quantized bytes are
identical (SHA-256) and prints a markdown table of RMSE (and RMSE / RMS of the input).

Run: $OKLA_CACHE/pyref/bin/python scripts/llama_cpp/quant_rmse.py
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import gguf

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from quant_vectors import TYPES, ggml_dequantize, ggml_quantize, load_ggml  # noqa: E402

CAP = 65536
ROW = 256
GAUSSIAN_VALUES = 1 << 22
REPO = os.path.join(os.path.dirname(__file__), "..", "..")


def real_weights(path):
    reader = gguf.GGUFReader(path)
    parts, types = [], {}
    for t in reader.tensors:
        if len(t.shape) != 2:
            continue
        values = gguf.quants.dequantize(t.data, t.tensor_type).reshape(-1)[:CAP]
        parts.append(values.astype(np.float32))
        types[t.tensor_type.name] = types.get(t.tensor_type.name, 0) + 1
    data = np.concatenate(parts)
    return data[: len(data) // ROW * ROW], types


def reference(ggml, data):
    rows = {}
    rms = float(np.sqrt(np.mean(data.astype(np.float64) ** 2)))
    for name, type_id in TYPES.items():
        q = np.concatenate([ggml_quantize(ggml, type_id, data[i:i + (1 << 20)])
                            for i in range(0, len(data), 1 << 20)])
        back = ggml_dequantize(ggml, type_id, q, len(data))
        rmse = float(np.sqrt(np.mean((data.astype(np.float64) - back) ** 2)))
        rows[name] = {"rmse": rmse, "relative_rmse": rmse / rms,
                      "sha256": hashlib.sha256(q.tobytes()).hexdigest()}
    return rows


def ours(files):
    out = subprocess.run(
        ["cargo", "run", "--quiet", "--release", "--example", "quant_rmse", "--", *files],
        cwd=REPO, check=True, capture_output=True, text=True).stdout
    rows = {}
    for line in out.splitlines():
        row = json.loads(line)
        rows[(row["file"], row["type"])] = row
    return rows


def main():
    cache = os.environ.get("OKLA_CACHE", os.path.expanduser("~/.cache/okla-eval"))
    model = os.path.join(cache, "gemma3-270m-q4_k_m.gguf")
    ggml, _ = load_ggml()
    sets = {"gaussian N(0,1)": np.random.default_rng(7).normal(0, 1, GAUSSIAN_VALUES).astype(np.float32)}
    if os.path.exists(model):
        sets["Gemma 3 270M weights"], source_types = real_weights(model)
        print(f"real weights: {len(sets['Gemma 3 270M weights'])} values from tensors of types {source_types}")
    else:
        print(f"skipping real weights: {model} is absent (run scripts/setup/*.sh)")
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for label, data in sets.items():
            files[label] = os.path.join(tmp, f"{len(files)}.f32")
            data.astype("<f4").tofile(files[label])
        rust = ours(list(files.values()))
        table = {label: reference(ggml, data) for label, data in sets.items()}
    mismatches = []
    header = "| type | " + " | ".join(f"{label} RMSE (relative)" for label in sets) + " |"
    print(header)
    print("|" + "---|" * (1 + len(sets)))
    for name in TYPES:
        cells = []
        for label in sets:
            ref, mine = table[label][name], rust[(files[label], name)]
            if ref["sha256"] != mine["sha256"]:
                mismatches.append(f"{name} on {label}")
            cells.append(f"{mine['rmse']:.4g} ({mine['relative_rmse']:.3%})")
        print(f"| {name} | " + " | ".join(cells) + " |")
    if mismatches:
        raise SystemExit("quantized bytes differ from llama.cpp: " + ", ".join(mismatches))
    print("quantized bytes identical to llama.cpp for every type and set")


if __name__ == "__main__":
    main()
