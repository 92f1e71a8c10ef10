"""Reference vectors for the trainer's NF4 + double quantization (crates/train/src/nf4.rs).

A numpy re-implementation of bitsandbytes' `quantize_4bit(quant_type="nf4",
blocksize=64, compress_statistics=True)` as its reference ("default") backend
computes it:
  * absmax per block of 64, scaled = clamp(x * (1/absmax), -1, 1), code index =
    argmin |scaled - NF4| (first index on ties), two codes per byte, the first in
    the high nibble;
  * double quantization: offset = mean(absmax); absmax - offset quantized with
    `quantize_blockwise(blocksize=256)` against `create_dynamic_map(signed=True)`
    (same scale / clamp / argmin rule); dequantized as code[q] * absmax2 + offset.
The dynamic map is built exactly as bitsandbytes builds it (torch.linspace in
float32, then float32 products); everything else is numpy.
One documented choice: the offset is the float64 mean rounded to float32 (torch's
float32 reduction order is not reproducible outside torch; it can differ by 1 ulp).

Usage: python scripts/reference/nf4_reference.py OUT_DIR   (writes nf4_vectors.json)
"""
import json
import sys

import numpy as np

NF4 = np.array([
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0], dtype=np.float32)


def dynamic_map():
    """bitsandbytes create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8),
    built as bitsandbytes builds it: torch.linspace in float32 (its CPU kernel's
    vectorised rounding is not reproducible in numpy, so torch is used for this
    one step; the trainer calls the same ATen kernel through tch)."""
    import torch

    data = []
    for i in range(7):
        bounds = torch.linspace(0.1, 1.0, 2 ** i + 1)
        means = (bounds[:-1] + bounds[1:]) / 2.0
        data += ((10 ** (i - 6)) * means).tolist()
        data += (-(10 ** (i - 6)) * means).tolist()
    data += [0.0, 1.0]
    assert len(data) == 256
    return np.array(sorted(data), dtype=np.float32)


def blockwise_codes(x, code, block):
    """Per-block absmax scaling then nearest code index (argmin, first on ties)."""
    n = x.size
    nblocks = (n + block - 1) // block
    absmax = np.zeros(nblocks, dtype=np.float32)
    idx = np.zeros(n, dtype=np.uint8)
    with np.errstate(divide="ignore", invalid="ignore"):
        for b in range(nblocks):
            part = x[b * block:(b + 1) * block]
            absmax[b] = np.abs(part).max()
            scaled = np.clip(part * (np.float32(1.0) / absmax[b]), -1.0, 1.0).astype(np.float32)
            idx[b * block:(b + 1) * block] = np.argmin(np.abs(scaled[:, None] - code[None, :]), axis=1)
    return idx, absmax


def quantize_nf4(w):
    flat = w.reshape(-1).astype(np.float32)
    idx, absmax = blockwise_codes(flat, NF4, 64)
    packed = (idx[0::2] << 4) | idx[1::2]
    offset = np.float32(absmax.astype(np.float64).mean())
    centered = (absmax - offset).astype(np.float32)
    dmap = dynamic_map()
    qabsmax, absmax2 = blockwise_codes(centered, dmap, 256)
    deq_absmax = (dmap[qabsmax] * np.repeat(absmax2, 256)[: qabsmax.size] + offset).astype(np.float32)
    codes = np.empty(flat.size, dtype=np.uint8)
    codes[0::2], codes[1::2] = packed >> 4, packed & 15
    deq = (NF4[codes] * np.repeat(deq_absmax, 64)).astype(np.float32)
    return packed, qabsmax, absmax2, offset, deq_absmax, deq


def f32_list(values):
    """Shortest decimal that round-trips each float32 (keeps the file small)."""
    return [float(str(np.float32(v))) for v in values]


def main():
    out_dir = sys.argv[1]
    rng = np.random.default_rng(20261125)
    cases = []
    # shapes: two absmax groups of 256 (the last partial), small ones, heavy tails, a zero block.
    specs = [("normal_64x320", (64, 320), 0.02), ("normal_48x96", (48, 96), 1.0),
             ("heavy_tail_32x128", (32, 128), None), ("with_zero_block_16x64", (16, 64), 0.5)]
    for name, shape, std in specs:
        if std is None:
            w = rng.standard_t(2.0, size=shape).astype(np.float32) * np.float32(0.05)
        else:
            w = rng.normal(0.0, std, size=shape).astype(np.float32)
        if name.startswith("with_zero"):
            w.reshape(-1)[:64] = 0.0
        packed, qabsmax, absmax2, offset, deq_absmax, deq = quantize_nf4(w)
        cases.append({
            "name": name, "shape": list(shape),
            "weight": f32_list(w.reshape(-1)),
            "packed": packed.tolist(), "absmax_q": qabsmax.tolist(),
            "absmax_scale": f32_list(absmax2), "offset": float(offset),
            "absmax": f32_list(deq_absmax),
            # the full dequantized weight only for the small cases (file size)
            "dequantized": f32_list(deq) if w.size <= 8192 else None,
        })
    doc = {"generator": "scripts/reference/nf4_reference.py", "dynamic_map": f32_list(dynamic_map()),
           "cases": cases}
    with open(f"{out_dir}/nf4_vectors.json", "w") as f:
        json.dump(doc, f)


if __name__ == "__main__":
    main()
