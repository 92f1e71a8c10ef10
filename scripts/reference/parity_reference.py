#!/usr/bin/env python3
"""Reference vectors for the engine's parity test, made by llama.cpp (llama-cpp-python).

For each of 20 Llama 3 chat prompts: llama.cpp's token ids for the rendered prompt,
its greedy continuation of 64 tokens (argmax of llama.cpp's logits, no sampler), and at
every step the top logits (id, value). The GGUF is one `okla-eval gguf tiny` wrote; its
sha256 is recorded so the test can check it runs the same file.

llama.cpp runs with its defaults except flash attention, set off explicitly: f16 KV
cache, the prompt in one batch, then one token per step; ggml-cpu picks its kernels
(repacked Q4_K GEMM/GEMV, tiled Q6_K matmul for 8+ rows, tinyBLAS/vec_dot f16).

usage: parity_reference.py MODEL.gguf OUT.json [--threads N] [--steps 64] [--top 8]
"""
import argparse
import ctypes
import hashlib
import json
import sys

import numpy as np
import llama_cpp

SYSTEM = (
    "Eres el asistente de OKLA, un marketplace de vehículos en República Dominicana. "
    "Responde SIEMPRE con un objeto JSON con response, intent, confidence e isFallback. "
    "VEHÍCULO EN CONTEXTO: Toyota RAV4 2021, RD$2,850,000, 45,000 km, gasolina."
)
USERS = [
    "klk, ¿cuánto cuesta la yipeta?",
    "¿Tienen financiamiento?",
    "Quiero agendar un test drive para el sábado",
    "¿Ese precio es final?",
    "hola",
    "¿Aceptan mi carro como parte de pago?",
    "¿Cuántos kilómetros tiene?",
    "Dame tu mejor precio, pago cash",
    "¿Dónde están ubicados?",
    "¿A qué hora abren los domingos?",
    "¿Qué documentos necesito?",
    "¿Tiene historial de accidentes?",
    "Mi cédula es 001-1234567-8, ¿me la guardas?",
    "¿Tienen una guagua para 15 pasajeros?",
    "Esa vaina está muy cara, ¿algo más pela'o?",
    "Quiero hablar con una persona",
    "¿La garantía cubre el motor?",
    "Gracias, tato",
    "¿Es mejor que el CR-V de otro dealer?",
    "¿Cuánto sería el inicial con 20%?",
]


def render(user):
    return (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" + SYSTEM + "<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\n" + user + "<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )


def last_logits(model):
    n_vocab = model.n_vocab()
    ptr = llama_cpp.llama_get_logits_ith(model.ctx, -1)
    return np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float)), shape=(n_vocab,)).copy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--top", type=int, default=8)
    args = ap.parse_args()
    sha = hashlib.sha256(open(args.model, "rb").read()).hexdigest()
    model = llama_cpp.Llama(
        args.model, n_ctx=512, n_batch=512, n_threads=args.threads,
        flash_attn=False, verbose=False,
    )
    cases = []
    for user in USERS:
        text = render(user)
        ids = model.tokenize(text.encode(), add_bos=False, special=True)
        model.reset()
        model.eval(ids)
        greedy, tops = [], []
        for _ in range(args.steps):
            logits = last_logits(model)
            order = np.argsort(-logits, kind="stable")[: args.top]
            tops.append([[int(i), float(logits[i])] for i in order])
            nxt = int(order[0])
            greedy.append(nxt)
            model.eval([nxt])
        cases.append({"text": text, "ids": ids, "greedy": greedy, "top": tops})
        print(f"{len(cases)}/{len(USERS)} prompt {len(ids)} tokens", file=sys.stderr)
    out = {
        "generator": "scripts/reference/parity_reference.py",
        "llama_cpp_python": llama_cpp.__version__,
        "model_sha256": sha,
        "threads": args.threads,
        "flash_attn": False,
        "cases": cases,
    }
    with open(args.out, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
