"""llama.cpp's teacher-forced loss of Gemma 3 270M Q4_K_M on the two texts
tests/train_gemma.rs scores with the trainer's model, for its reference numbers:
  short  the test's TEXT (BOS + 51 tokens), mean loss over every next token;
  window the first conversation of suites/okla/okla_eval.jsonl (contents joined by
         blank lines), its first 640 tokens, mean loss of the tokens predicted from
         positions 512..638 (where the 512-position sliding window hides the start).
Run with the pyref venv's python (llama-cpp-python 0.3.36, plain kernels):
  ~/.cache/okla-eval/pyref/bin/python scripts/llama_cpp/gemma_text_loss.py [GGUF]
Printed on the dev machine: short 3.7465 (51 tokens), window 3.5848 (127 tokens).
"""
import json
import math
import os
import sys

import numpy as np
from llama_cpp import Llama

SHORT = ("Hola, buenas tardes. Estoy buscando una yipeta Toyota RAV4 del 2019 en Santiago, "
         "que no pase de dos millones de pesos. ¿Tienen alguna disponible? "
         "The price is a reference and must be confirmed with the dealer.")


def mean_loss(llm, ids, first):
    """Mean cross-entropy of ids[i + 1] given ids[..= i], for i in first..len(ids) - 1."""
    llm.reset()
    llm.eval(ids)
    logits = np.array(llm.scores[:len(ids)], dtype=np.float64)
    total = 0.0
    for i in range(first, len(ids) - 1):
        row = logits[i]
        top = row.max()
        total += top + math.log(np.exp(row - top).sum()) - row[ids[i + 1]]
    return total / (len(ids) - 1 - first), len(ids) - 1 - first


def main():
    cache = os.environ.get("OKLA_CACHE", os.path.expanduser("~/.cache/okla-eval"))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(cache, "gemma3-270m-q4_k_m.gguf")
    # use_extra_bufts=False: the AMX/repacking path segfaults on these CPUs
    llm = Llama(model_path=path, n_ctx=1024, n_batch=1024, n_ubatch=1024, logits_all=True,
                verbose=False, use_extra_bufts=False)
    short = llm.tokenize(SHORT.encode(), add_bos=True, special=True)
    print("short  %.4f (%d tokens)" % mean_loss(llm, short, 0))
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "../../suites/okla/okla_eval.jsonl"), encoding="utf-8") as f:
        conv = json.loads(f.readline())
    text = "\n\n".join(m["content"] for m in conv["messages"])
    ids = llm.tokenize(text.encode(), add_bos=True, special=True)[:640]
    print("window %.4f (%d tokens)" % mean_loss(llm, ids, 512))


if __name__ == "__main__":
    main()
