#!/usr/bin/env python3
"""Generate the reference vectors of crates/formats/src/quant from llama.cpp itself.

Quantizes a fixed set of input rows with llama.cpp's reference quantizers
(ggml_quantize_chunk, and the Q8_K type trait's from_float_ref, through the
ggml shared library that llama-cpp-python builds) and dequantizes them with
ggml's to_float. Where gguf-py (gguf.quants) has the same quantizer or
dequantizer it is run too and must agree byte for byte.

Writes tests/data/quant/:
  inputs.f32              all cases, little-endian f32, CASE_LEN values each
  <TYPE>.quant            ggml's quantized bytes of inputs.f32, case after case
  <TYPE>.dequant.f32      ggml's dequantization of <TYPE>.quant
  manifest.json           cases, types, sizes, reference versions

Run: $OKLA_CACHE/pyref/bin/python scripts/reference/quant_vectors.py
"""
import ctypes
import glob
import json
import os
import sys

import numpy as np
import gguf
import llama_cpp

CASE_LEN = 512  # two K-quant super-blocks, sixteen Q4_0/Q8_0 blocks
OUT_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "quant")

# name -> ggml type id
TYPES = {
    "F32": 0, "F16": 1, "Q4_0": 2, "Q5_0": 6, "Q8_0": 8,
    "Q4_K": 12, "Q5_K": 13, "Q6_K": 14, "Q8_K": 15, "BF16": 30,
}


def cases():
    rng = np.random.default_rng(20261125)
    n = CASE_LEN
    real_like = rng.normal(0, 0.02, n)
    outliers = rng.choice(n, 5, replace=False)
    real_like[outliers] *= 12
    with_nan = rng.normal(0, 1, n)
    with_nan[[3, 40, 300]] = np.nan
    with_inf = rng.normal(0, 1, n)
    with_inf[[5, 290]] = np.inf
    with_inf[[100, 301]] = -np.inf
    single = np.zeros(n)
    single[77] = -3.25
    single[300] = 1.5
    return {
        "gaussian": rng.normal(0, 1, n),
        "zeros": np.zeros(n),
        "constant": np.full(n, 0.37),
        "constant_negative": np.full(n, -2.5),
        "huge": rng.normal(0, 1e4, n),
        "beyond_f16": rng.normal(0, 6e4, n),
        "small": rng.normal(0, 1e-6, n),
        "tiny": rng.normal(0, 1e-20, n),
        "mixed_signs": np.where(np.arange(n) % 2 == 0, 1, -1) * rng.uniform(0.5, 2, n),
        "all_positive": rng.uniform(0.1, 1, n),
        "all_negative": -rng.uniform(0.1, 1, n),
        "single_outliers": single,
        "ramp": np.linspace(-1, 1, n),
        "real_like_weights": real_like,
        # Non-finite input: llama.cpp's bytes are deterministic on x86-64, ours match them.
        "overflowing": rng.uniform(-3e38, 3e38, n),
        "with_nan": with_nan,
        "with_inf": with_inf,
    }


class TypeTraits(ctypes.Structure):
    _fields_ = [
        ("type_name", ctypes.c_char_p),
        ("blck_size", ctypes.c_int64),
        ("blck_size_interleave", ctypes.c_int64),
        ("type_size", ctypes.c_size_t),
        ("is_quantized", ctypes.c_bool),
        ("to_float", ctypes.c_void_p),
        ("from_float_ref", ctypes.c_void_p),
    ]


ROW_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)


def load_ggml():
    lib_dir = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
    path = sorted(glob.glob(os.path.join(lib_dir, "libggml-base.so*")))[0]
    ggml = ctypes.CDLL(path)
    ggml.ggml_get_type_traits.restype = ctypes.POINTER(TypeTraits)
    ggml.ggml_get_type_traits.argtypes = [ctypes.c_int]
    for name in ("quantize_row_q8_K_ref", "dequantize_row_q8_K"):
        getattr(ggml, name).argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
        getattr(ggml, name).restype = None
    ggml.ggml_quantize_chunk.restype = ctypes.c_size_t
    ggml.ggml_quantize_chunk.argtypes = [
        ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
        ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p,
    ]
    return ggml, path


def ggml_quantize(ggml, type_id, row):
    traits = ggml.ggml_get_type_traits(type_id).contents
    size = len(row) // traits.blck_size * traits.type_size
    out = np.zeros(size, dtype=np.uint8)
    src = np.ascontiguousarray(row, dtype=np.float32)
    if type_id == TYPES["Q8_K"]:  # activation type: not in ggml_quantize_chunk nor traits
        ggml.quantize_row_q8_K_ref(src.ctypes.data, out.ctypes.data, ctypes.c_int64(len(row)))
    else:
        written = ggml.ggml_quantize_chunk(
            type_id, src.ctypes.data, out.ctypes.data, 0, 1, len(row), None)
        assert written == size, (type_id, written, size)
    return out


def ggml_dequantize(ggml, type_id, data, n):
    traits = ggml.ggml_get_type_traits(type_id).contents
    out = np.zeros(n, dtype=np.float32)
    if type_id == TYPES["F32"]:
        return data.view(np.float32).copy()
    if type_id == TYPES["Q8_K"]:
        ggml.dequantize_row_q8_K(data.ctypes.data, out.ctypes.data, ctypes.c_int64(n))
    else:
        ROW_FN(traits.to_float)(data.ctypes.data, out.ctypes.data, n)
    return out


def gguf_py_check(name, row, quant, dequant):
    """Returns what gguf-py agreed on, raising if it disagrees."""
    qtype = gguf.GGMLQuantizationType[name]
    agreed = []
    if name == "Q8_K":
        return agreed
    src = np.asarray(row, dtype=np.float32)
    try:
        ours = gguf.quants.quantize(src, qtype).view(np.uint8).reshape(-1)
    except NotImplementedError:
        ours = None
    if ours is not None:
        if not np.array_equal(ours, quant):
            raise SystemExit(f"gguf-py quantize disagrees with ggml for {name}")
        agreed.append("quantize")
    back = gguf.quants.dequantize(quant, qtype).reshape(-1).astype(np.float32)
    same = np.array_equal(back.view(np.uint32), dequant.view(np.uint32))
    if not same:
        raise SystemExit(f"gguf-py dequantize disagrees with ggml for {name}")
    agreed.append("dequantize")
    return agreed


def main():
    ggml, lib_path = load_ggml()
    all_cases = cases()
    inputs = np.concatenate([c.astype(np.float32) for c in all_cases.values()])
    os.makedirs(OUT_DIR, exist_ok=True)
    inputs.tofile(os.path.join(OUT_DIR, "inputs.f32"))
    types = {}
    for name, type_id in TYPES.items():
        quants, dequants, agreed = [], [], set()
        for case_name, row in all_cases.items():
            row = row.astype(np.float32)
            q = ggml_quantize(ggml, type_id, row)
            d = ggml_dequantize(ggml, type_id, q, len(row))
            if np.isfinite(row).all() and np.isfinite(row.astype(np.float64) ** 2).all():
                with np.errstate(over="ignore"):
                    agreed.update(gguf_py_check(name, row, q, d))
            quants.append(q)
            dequants.append(d)
        q_all = np.concatenate(quants)
        q_all.tofile(os.path.join(OUT_DIR, f"{name}.quant"))
        np.concatenate(dequants).astype("<f4").tofile(os.path.join(OUT_DIR, f"{name}.dequant.f32"))
        types[name] = {
            "ggml_type": type_id,
            "bytes_per_case": len(q_all) // len(all_cases),
            "gguf_py_agrees_on": sorted(agreed),
        }
    manifest = {
        "case_len": CASE_LEN,
        "cases": list(all_cases),
        "types": types,
        "reference": {
            "llama_cpp_python": llama_cpp.__version__,
            "ggml_library": os.path.basename(lib_path),
            "gguf_py": getattr(gguf, "__version__", None) or "unknown",
            "numpy": np.__version__,
        },
    }
    with open(os.path.join(OUT_DIR, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(json.dumps(manifest["types"], indent=1))


if __name__ == "__main__":
    sys.exit(main())
