#!/usr/bin/env python3
"""Greedy answers of llama.cpp (llama-cpp-python) on a suite's first N cases, compared
with a predictions.jsonl our engine wrote for the same GGUF (`okla-eval gate --model
FILE.gguf --max-cases N --skip-loss`). Each case's prompt is its conversation up to
the scored assistant turn (reference history), rendered with the Llama 3 chat
template and the generation prompt, as the gate does; llama.cpp then decodes
greedily (temperature 0, no repetition penalty) until <|eot_id|> or max_new tokens. Prints one line per case
and the count of identical answers; exit 1 unless all are identical.

usage: answers_vs_llama.py MODEL.gguf CASES.jsonl PREDICTIONS.jsonl [--n 20] [--max-new 600]
"""
import argparse
import json
import sys

from llama_cpp import Llama

from plain_kernels import use_plain_kernels


def render(messages):
    """The Llama 3 chat template (HF semantics: contents stripped, BOS once) with the
    assistant generation prompt."""
    out = "<|begin_of_text|>"
    for m in messages:
        out += f"<|start_header_id|>{m['role']}<|end_header_id|>\n\n{m['content'].strip()}<|eot_id|>"
    return out + "<|start_header_id|>assistant<|end_header_id|>\n\n"


def cases(path, n):
    """(case id, prompt messages, reference) for every assistant turn, in suite order."""
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    found = []
    for line_no, line in enumerate(open(path, encoding="utf-8"), 1):
        messages = json.loads(line)["messages"]
        turn = 0
        for i, m in enumerate(messages):
            if m["role"] == "assistant":
                found.append((f"{stem}:{line_no}:{turn}", messages[:i]))
                turn += 1
                if len(found) == n:
                    return found
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("cases")
    ap.add_argument("predictions")
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--max-new", type=int, default=600)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repack", action="store_true",
                    help="keep llama.cpp's weight-repacking buffers (its default; on AMX CPUs "
                         "the AMX matmul segfaults on the default model)")
    args = ap.parse_args()
    ours = {}
    for line in open(args.predictions, encoding="utf-8"):
        p = json.loads(line)
        ours[p["id"]] = p["output"]
    if not args.repack:
        use_plain_kernels()
    llm = Llama(model_path=args.model, n_ctx=4096, n_batch=4096, n_ubatch=4096,
                n_threads=args.threads, flash_attn=False, verbose=False)
    same = 0
    todo = cases(args.cases, args.n)
    for case_id, messages in todo:
        prompt = llm.tokenize(render(messages).encode(), add_bos=False, special=True)
        llm.reset()
        out = llm.create_completion(prompt, max_tokens=args.max_new, temperature=0.0,
                                    top_k=1, repeat_penalty=1.0)
        text = out["choices"][0]["text"]
        generated = out["usage"]["completion_tokens"]
        equal = ours.get(case_id) == text
        same += equal
        print(f"{case_id:<18} {'same' if equal else 'DIFFERENT'} ({generated} tokens)")
        if not equal:
            print(f"  llama.cpp: {text[:200]!r}\n  ours:      {str(ours.get(case_id))[:200]!r}")
    print(f"{same}/{len(todo)} answers identical")
    sys.exit(0 if same == len(todo) else 1)


if __name__ == "__main__":
    main()
