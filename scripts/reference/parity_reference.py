#!/usr/bin/env python3
"""Reference vectors for the engine's parity test, made by llama.cpp (llama-cpp-python).

For each of 20 chat prompts: llama.cpp's token ids for the rendered prompt, its greedy
continuation of 64 tokens (argmax of llama.cpp's logits, no sampler), and at every step
the top logits (id, value). The model's sha256 is recorded so the test can check it runs
the same file.

--chat llama3 (default): the 20 OKLA questions below in the Llama 3 template, for the
GGUFs `okla-eval gguf tiny` writes. llama.cpp runs with its defaults except flash
attention, set off explicitly: f16 KV cache, the prompt in batches of 512, then one
token per step; ggml-cpu picks its kernels (repacked Q4_K GEMM/GEMV, tiled Q6_K matmul
for 8+ rows, tinyBLAS/vec_dot f16).

--chat gemma3 (Gemma 3 270M): the first 16 questions in the Gemma 3 template, then 4
conversations of the OKLA test split (--suite-cases) whose dealer-inventory system
prompts run to 1,100-1,800 tokens, so that sliding-window layers (window 512) and
prompt batches of 512 are exercised. On CPUs with AMX, llama.cpp's extra buffer types
(weight repacking, AMX) crash on this model: --plain loads it without them
(use_extra_bufts = false), the plain ggml-cpu kernels.

usage: parity_reference.py MODEL.gguf OUT.json [--chat llama3|gemma3] [--plain]
       [--suite-cases suites/okla/okla_test.jsonl] [--threads N] [--steps 64] [--top 8]
"""
import argparse
import ctypes
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import llama_cpp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llama_cpp"))
from plain_kernels import use_plain_kernels  # noqa: E402

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


def render_llama3(user):
    return (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" + SYSTEM + "<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\n" + user + "<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )


def render_gemma3(system, user):
    """The Gemma 3 template (HF semantics): BOS, the system prompt opening the first user
    turn, contents stripped, the model's generation prompt."""
    return (
        "<bos><start_of_turn>user\n" + system + "\n\n" + user.strip() + "<end_of_turn>\n"
        "<start_of_turn>model\n"
    )


def prompts(chat, suite_cases):
    if chat == "llama3":
        return [render_llama3(u) for u in USERS]
    texts = [render_gemma3(SYSTEM, u) for u in USERS[:16]]
    with open(suite_cases) as f:
        convs = [json.loads(line)["messages"] for line in f if line.strip()]
    longest = sorted(convs, key=lambda m: -len(m[0]["content"]))[:4]
    texts += [render_gemma3(m[0]["content"], m[1]["content"]) for m in longest]
    return texts


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
    ap.add_argument("--chat", choices=["llama3", "gemma3"], default="llama3")
    ap.add_argument("--plain", action="store_true", help="no extra buffer types (AMX CPUs)")
    ap.add_argument("--suite-cases", default="suites/okla/okla_test.jsonl")
    args = ap.parse_args()
    if args.plain:
        use_plain_kernels()
    sha = hashlib.sha256(open(args.model, "rb").read()).hexdigest()
    texts = prompts(args.chat, args.suite_cases)
    model = llama_cpp.Llama(
        args.model, n_ctx=512 if args.chat == "llama3" else 2048, n_batch=512,
        n_threads=args.threads, flash_attn=False, verbose=False,
    )
    cases = []
    for text in texts:
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
        print(f"{len(cases)}/{len(texts)} prompt {len(ids)} tokens", file=sys.stderr)
    out = {
        "generator": "scripts/reference/parity_reference.py",
        "llama_cpp_python": llama_cpp.__version__,
        "model_sha256": sha,
        "threads": args.threads,
        "flash_attn": False,
        "plain_kernels": args.plain,
        "cases": cases,
    }
    with open(args.out, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
