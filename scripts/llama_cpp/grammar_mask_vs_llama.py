#!/usr/bin/env python3
"""llama.cpp's side of `benches/grammar_mask.rs`: the time llama.cpp's grammar sampler
takes per token on the OKLA response schema, through llama-cpp-python 0.3.36.

The schema becomes GBNF with `LlamaGrammar.from_json_schema` (llama.cpp's
json-schema-to-grammar); the walk is the bench's: the first 40 distinct reference
answers of the suite (every assistant turn, in file order), tokenized with the model's
Llama 3 vocabulary, each token preceded by one mask and the closed answer by one more.
Two timings per mask:
- full: `llama_sampler_apply` over all 128,256 candidates, then `llama_sampler_accept`:
  what llama-cpp-python does every token (the grammar sits in its sampler chain);
- check: the same sampler on a one-candidate array holding the token that comes, what
  llama.cpp's server pays when the token it sampled without the grammar already fits
  (`common_sampler_sample`; a misfit pays a full apply on top).

Only the vocabulary is loaded (`vocab_only`), so the AMX segfault of these CPUs'
default kernels does not arise.

usage: grammar_mask_vs_llama.py [--model MODEL.gguf] [--suite suites/okla] [--answers 40] [--json]
"""
import argparse
import ctypes
import json
import pathlib
import statistics
import time
import tomllib

import numpy as np

import llama_cpp
from llama_cpp.llama_grammar import LlamaGrammar


def references(suite, limit):
    """The first `limit` distinct assistant contents of the suite's case files."""
    manifest = tomllib.loads((suite / "suite.toml").read_text())
    seen, out = set(), []
    for name in manifest["cases"]:
        for line in (suite / name).read_text().splitlines():
            if not line.strip():
                continue
            for m in json.loads(line)["messages"]:
                if m["role"] == "assistant" and m["content"] not in seen:
                    seen.add(m["content"])
                    out.append(m["content"])
                    if len(out) == limit:
                        return out
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/okla-tiny/okla-tiny-q4_k_m.gguf")
    ap.add_argument("--suite", default="suites/okla")
    ap.add_argument("--answers", type=int, default=40)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    suite = pathlib.Path(args.suite)
    schema = (suite / tomllib.loads((suite / "suite.toml").read_text())["schema"]).read_text()

    llm = llama_cpp.Llama(args.model, vocab_only=True, verbose=False)
    vocab = llm._model.vocab
    n_vocab = llm.n_vocab()
    t0 = time.perf_counter()
    gbnf = LlamaGrammar.from_json_schema(schema, verbose=False)
    convert_s = time.perf_counter() - t0

    cand = np.zeros(n_vocab, dtype=np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)], align=True))
    cand["id"] = np.arange(n_vocab, dtype=np.int32)
    one = np.zeros(1, dtype=cand.dtype)

    def array(a):
        return llama_cpp.llama_token_data_array(
            data=a.ctypes.data_as(llama_cpp.llama_token_data_p), size=len(a), selected=-1, sorted=False)

    eot = llm.tokenize(b"<|eot_id|>", add_bos=False, special=True)[0]
    answers = [llm.tokenize(r.encode(), add_bos=False, special=False) for r in references(suite, args.answers)]
    full, check = [], []
    init_s = []
    for tokens in answers:
        t0 = time.perf_counter()
        smpl = llama_cpp.llama_sampler_init_grammar(vocab, gbnf._grammar.encode(), gbnf._root.encode())
        init_s.append(time.perf_counter() - t0)
        assert smpl, "llama.cpp refused the grammar"
        for t in tokens + [eot]:
            cand["logit"] = 0.0
            arr = array(cand)
            t0 = time.perf_counter()
            llama_cpp.llama_sampler_apply(smpl, ctypes.byref(arr))
            full.append(time.perf_counter() - t0)
            assert np.isfinite(cand["logit"][t]), f"token {t} refused by the grammar"
            one["id"], one["logit"] = t, 0.0
            arr1 = array(one)
            t0 = time.perf_counter()
            llama_cpp.llama_sampler_apply(smpl, ctypes.byref(arr1))
            check.append(time.perf_counter() - t0)
            if t != eot:
                llama_cpp.llama_sampler_accept(smpl, t)
        llama_cpp.llama_sampler_free(smpl)

    def stats(xs):
        us = sorted(x * 1e6 for x in xs)
        return {"mean_us": statistics.mean(us), "p99_us": us[-(-len(us) * 99 // 100) - 1], "max_us": us[-1]}

    out = {
        "llama_cpp_python": llama_cpp.__version__,
        "vocab": n_vocab,
        "answers": len(answers),
        "masks": len(full),
        "schema_to_gbnf_ms": convert_s * 1e3,
        "grammar_init_ms": statistics.mean(init_s) * 1e3,
        "full": stats(full),
        "check": stats(check),
    }
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"llama.cpp grammar sampler, OKLA schema, vocabulary {n_vocab}: {out['masks']} masks over {out['answers']} answers")
        print(f"  schema → GBNF {out['schema_to_gbnf_ms']:.1f} ms, sampler init {out['grammar_init_ms']:.2f} ms")
        for k in ("full", "check"):
            s = out[k]
            print(f"  {k:5}: mean {s['mean_us']:.1f} µs, p99 {s['p99_us']:.1f} µs, max {s['max_us']:.1f} µs")


if __name__ == "__main__":
    main()
