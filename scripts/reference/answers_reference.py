#!/usr/bin/env python3
"""Greedy answers of llama.cpp (llama-cpp-python 0.3.36) to the first N cases of a
suite's test split, for tests/engine_answers.rs: a Gemma 3 model, optionally with a GGUF
LoRA applied at run time (llama.cpp's --lora), chats through the Gemma 3 template and
answers until <end_of_turn> or the token cap. For every step the file keeps the greedy
token and llama.cpp's margin between its two best logits, so that a test can tell a
real difference from a near-tie.

A case is the conversation up to one user turn, with the recorded assistant turns
before it (as the gate sends it). The Gemma 3 template (HF semantics): BOS, the system
prompt as it is + a blank line opening the first user turn, every turn's content
stripped, `assistant` written `model`.

usage: answers_reference.py MODEL.gguf OUT.json [--lora ADAPTER.gguf] [--cases N]
       [--max-new N] [--plain]
"""
import argparse
import ctypes
import hashlib
import json
import os
import sys

import numpy as np
import llama_cpp

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "llama_cpp"))
from plain_kernels import use_plain_kernels  # noqa: E402


def render_gemma3(messages):
    system = ""
    if messages and messages[0]["role"] == "system":
        system = messages[0]["content"] + "\n\n"
        messages = messages[1:]
    out = "<bos>"
    for i, m in enumerate(messages):
        role = "model" if m["role"] == "assistant" else "user"
        prefix = system if i == 0 else ""
        out += f"<start_of_turn>{role}\n{prefix}{m['content'].strip()}<end_of_turn>\n"
    return out + "<start_of_turn>model\n"


def cases(path, n):
    """(id, messages up to and including the user turn) in the gate's order."""
    out = []
    with open(path) as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            messages = json.loads(line)["messages"]
            turn = 0
            for i, m in enumerate(messages):
                if m["role"] != "assistant":
                    continue
                out.append((f"okla_test:{line_no}:{turn}", messages[:i]))
                turn += 1
                if len(out) == n:
                    return out
    return out


def last_logits(model):
    ptr = llama_cpp.llama_get_logits_ith(model.ctx, -1)
    return np.ctypeslib.as_array(
        ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float)), shape=(model.n_vocab(),)
    ).copy()


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--lora")
    ap.add_argument("--suite-cases", default="suites/okla/okla_test.jsonl")
    ap.add_argument("--cases", type=int, default=20)
    ap.add_argument("--max-new", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--plain", action="store_true", help="no extra buffer types (AMX CPUs)")
    args = ap.parse_args()
    if args.plain:
        use_plain_kernels()
    model = llama_cpp.Llama(
        args.model, n_ctx=4096, n_batch=512, n_threads=args.threads,
        flash_attn=False, verbose=False, lora_path=args.lora,
    )
    end_of_turn = model.tokenize(b"<end_of_turn>", add_bos=False, special=True)[0]
    stops = {end_of_turn, model.token_eos()}
    out_cases = []
    for case_id, messages in cases(args.suite_cases, args.cases):
        ids = model.tokenize(render_gemma3(messages).encode(), add_bos=False, special=True)
        model.reset()
        model.eval(ids)
        greedy, margins = [], []
        for _ in range(args.max_new):
            logits = last_logits(model)
            top2 = np.argsort(-logits, kind="stable")[:2]
            nxt = int(top2[0])
            greedy.append(nxt)
            margins.append(float(logits[top2[0]] - logits[top2[1]]))
            if nxt in stops:
                break
            model.eval([nxt])
        out_cases.append({"id": case_id, "ids": ids, "greedy": greedy, "margins": margins})
        print(f"{case_id}: prompt {len(ids)}, answer {len(greedy)} tokens", file=sys.stderr)
    result = {
        "generator": "scripts/reference/answers_reference.py",
        "llama_cpp_python": llama_cpp.__version__,
        "model_sha256": sha256(args.model),
        "lora_sha256": sha256(args.lora) if args.lora else None,
        "threads": args.threads,
        "plain_kernels": args.plain,
        "max_new": args.max_new,
        "cases": out_cases,
    }
    with open(args.out, "w") as f:
        json.dump(result, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
