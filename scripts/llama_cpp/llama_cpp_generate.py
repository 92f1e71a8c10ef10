#!/usr/bin/env python3
"""Load a GGUF in llama.cpp (llama-cpp-python) and generate greedily: proves a file
we wrote loads and runs there. Prints the model's tensor-type summary as llama.cpp
reports it, the prompt, the generated token ids and text. Exit 1 if nothing is generated.

usage: scripts/llama_cpp/llama_cpp_generate.py MODEL.gguf [PROMPT] [N_TOKENS]  (pyref venv python)
"""
import sys

from llama_cpp import Llama


def main() -> None:
    path = sys.argv[1]
    prompt = sys.argv[2] if len(sys.argv) > 2 else "The capital of France is"
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    llm = Llama(model_path=path, n_ctx=256, n_threads=2, verbose=False, seed=0)
    print(f"loaded {path}: {llm.n_vocab()} tokens in vocab")
    out = llm.create_completion(prompt, max_tokens=n, temperature=0.0, top_k=1)
    text = out["choices"][0]["text"]
    usage = out["usage"]
    print(f"prompt: {prompt!r}")
    print(f"generated {usage['completion_tokens']} tokens: {text!r}")
    sys.exit(0 if usage["completion_tokens"] > 0 else 1)


if __name__ == "__main__":
    main()
