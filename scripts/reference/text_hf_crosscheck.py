#!/usr/bin/env python3
"""Optional cross-check: Hugging Face transformers' own apply_chat_template agrees with
the committed reference vectors (tests/data/text/chat_template_vectors.json) and the
FASE 2 token totals (tests/data/text/fase2_token_totals.json).

Needs transformers (no PyTorch), which would move the shared pyref venv's pins, so use
a throwaway venv:
    python3 -m venv /tmp/hf && /tmp/hf/bin/pip install transformers jinja2
    /tmp/hf/bin/python scripts/reference/text_hf_crosscheck.py
Last run: transformers 5.24.0, tokenizers 0.23.3: all 13 cases and all 3 totals equal.
"""
import json
import pathlib
import sys

from transformers import AutoTokenizer

ROOT = pathlib.Path(__file__).resolve().parents[2]
FASE2 = ROOT.parent / "shared" / "reference" / "okla_fase2"
tok = AutoTokenizer.from_pretrained(str(ROOT / "models" / "llama3"))
v = json.load(open(ROOT / "tests/data/text/chat_template_vectors.json", encoding="utf-8"))
bad = 0
for c in v["cases"]:
    text = tok.apply_chat_template(c["messages"], tokenize=False, add_generation_prompt=True)
    ids = tok.apply_chat_template(c["messages"], tokenize=True, add_generation_prompt=True)
    if hasattr(ids, "keys"): ids = ids["input_ids"]
    ok = text == c["text"] and list(ids) == c["ids"]
    bad += not ok
    print(c["name"], "equal" if ok else f"DIFF text={text == c['text']} ids={list(ids) == c['ids']}")
# FASE 2 totals too (when the real files are present)
tot = {}
for name in ([] if not FASE2.is_dir() else ["okla_train.jsonl", "okla_eval.jsonl", "okla_test.jsonl"]):
    n = 0
    for l in open(FASE2 / name, encoding="utf-8"):
        r = tok.apply_chat_template(json.loads(l)["messages"], tokenize=True)
        if hasattr(r, "keys"): r = r["input_ids"]
        n += len(r)
    tot[name] = n
ref = json.load(open(ROOT / "tests/data/text/fase2_token_totals.json"))["files"]
for k in tot:
    print(k, tot[k], "equal" if tot[k] == ref[k]["tokens"] else f"DIFF (reference {ref[k]['tokens']})")
    bad += tot[k] != ref[k]["tokens"]
sys.exit(1 if bad else 0)
