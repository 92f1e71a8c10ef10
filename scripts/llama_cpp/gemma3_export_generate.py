#!/usr/bin/env python3
"""Proves a Gemma 3 GGUF written by `okla-eval export` loads in llama.cpp and chats.

1. Writes a peft LoRA adapter as peft initializes one (A random, B zero) on every
   attention and MLP projection of every layer of the Gemma 3 base (shapes read from
   the base GGUF), so merging it must change nothing.
2. Runs `okla-eval export --base BASE --adapter ADAPTER --type TYPE --force` (no gate:
   the native engine's Gemma 3 support is separate) for each TYPE.
3. Loads the base and every export in llama.cpp (llama-cpp-python, plain CPU kernels:
   its AMX/repacking path segfaults on these CPUs) and decodes greedily from the same
   Gemma 3 chat prompts: prints the generated token ids and text of each, and whether
   they equal the base's. Exit 1 if an export fails to load or generates nothing.

usage (pyref venv python, repo root, after `cargo build --release`):
  scripts/llama_cpp/gemma3_export_generate.py [BASE.gguf] [--types q8_0,q4_k_m]
      [--okla target/release/okla-eval] [--workdir DIR] [--n 24]
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
from gguf import GGUFReader
from llama_cpp import Llama

from answers_vs_llama import without_weight_repacking  # beside this script

PROMPTS = [
    "What is the capital of France?",
    "Escribe una frase sobre un carro rojo.",
]
MODULES = {  # GGUF tensor -> peft module under model.layers.N
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
}


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for blob in blobs:
            f.write(blob)


def zero_adapter(base, out, r=8):
    """A peft adapter (B = 0) on every projection of the base; returns its module count."""
    rng = np.random.default_rng(0)
    tensors = {}
    for t in GGUFReader(base).tensors:
        parts = t.name.split(".")
        if len(parts) != 4 or parts[0] != "blk" or parts[2] not in MODULES:
            continue
        cols, rows = int(t.shape[0]), int(t.shape[1])
        key = f"base_model.model.model.layers.{parts[1]}.{MODULES[parts[2]]}"
        tensors[f"{key}.lora_A.weight"] = rng.normal(0, 0.02, (r, cols))
        tensors[f"{key}.lora_B.weight"] = np.zeros((rows, r))
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, "adapter_model.safetensors"), tensors)
    with open(os.path.join(out, "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "LORA", "r": r, "lora_alpha": 16,
                   "target_modules": sorted(m.split(".")[1] for m in MODULES.values())}, f)
    return len(tensors) // 2


def generate(path, n):
    llm = Llama(model_path=path, n_ctx=512, n_threads=2, verbose=False, seed=0)
    stop = {llm.token_eos(), *llm.tokenize(b"<end_of_turn>", add_bos=False, special=True)}
    results = []
    for prompt in PROMPTS:
        text = f"<start_of_turn>user\n{prompt}<end_of_turn>\n<start_of_turn>model\n"
        ids = llm.tokenize(text.encode(), add_bos=True, special=True)
        out = []
        for tok in llm.generate(ids, top_k=1, temp=0.0, repeat_penalty=1.0):
            if tok in stop or len(out) == n:
                break
            out.append(tok)
        results.append((prompt, out, llm.detokenize(out).decode("utf-8", "replace")))
    return results


def main():
    cache = os.environ.get("OKLA_CACHE", os.path.expanduser("~/.cache/okla-eval"))
    ap = argparse.ArgumentParser()
    ap.add_argument("base", nargs="?", default=os.path.join(cache, "gemma3-270m-q4_k_m.gguf"))
    ap.add_argument("--types", default="q8_0,q4_k_m")
    ap.add_argument("--okla", default="target/release/okla-eval")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--n", type=int, default=24)
    args = ap.parse_args()
    without_weight_repacking()
    work = args.workdir or tempfile.mkdtemp(prefix="gemma3-export-")
    adapter = os.path.join(work, "zero-adapter")
    print(f"zero adapter on {zero_adapter(args.base, adapter)} modules: {adapter}")
    reference = generate(args.base, args.n)
    for prompt, ids, text in reference:
        print(f"base    {prompt!r}: {ids} {text!r}")
    ok = True
    for ty in args.types.split(","):
        out = os.path.join(work, f"export.{ty}.gguf")
        subprocess.run([args.okla, "export", "--base", args.base, "--adapter", adapter,
                        "--type", ty, "--force", "--out", out], check=True)
        for (prompt, ids, text), (_, base_ids, _) in zip(generate(out, args.n), reference):
            same = "same as base" if ids == base_ids else "differs from base"
            print(f"{ty:7} {prompt!r}: {ids} {text!r} ({same})")
            ok &= len(ids) > 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
