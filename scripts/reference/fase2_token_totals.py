#!/usr/bin/env python3
"""Compare `okla-eval data stats` token counts with the Python reference, per conversation.

For each real FASE 2 file (okla_train/eval/test.jsonl), counts every conversation's
tokens under the Llama 3 chat template with jinja2 + Python `tokenizers`
(llama3_reference.py), runs `okla-eval data stats --lengths-out` on the same files,
and compares conversation by conversation. Prints the per-file totals and writes them
to tests/data/text/fase2_token_totals.json (the test vector tests/fase2_tokens.rs
recomputes). Exits 1 on any mismatch.

Usage: $OKLA_CACHE/pyref/bin/python scripts/reference/fase2_token_totals.py \
           [--data ../shared/reference/okla_fase2] [--binary target/release/okla-eval]
"""
import argparse
import csv
import json
import pathlib
import subprocess
import sys
import tempfile

import tokenizers

from llama3_reference import ROOT, Llama3Reference

FILES = ["okla_train.jsonl", "okla_eval.jsonl", "okla_test.jsonl"]
OUT = ROOT / "tests" / "data" / "text" / "fase2_token_totals.json"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "reference" / "okla_fase2"))
    parser.add_argument("--binary", default=str(ROOT / "target" / "release" / "okla-eval"))
    args = parser.parse_args()
    data = pathlib.Path(args.data)
    paths = [data / name for name in FILES]

    ref = Llama3Reference()
    expected = {}
    for path in paths:
        lines = [l for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]
        conversations = [json.loads(l)["messages"] for l in lines]
        expected[path.name] = ref.count_batch(conversations)

    with tempfile.TemporaryDirectory() as tmp:
        lengths_csv = pathlib.Path(tmp) / "lengths.csv"
        subprocess.run(
            [args.binary, "data", "stats", *map(str, paths), "--lengths-out", str(lengths_csv)],
            check=True, stdout=subprocess.DEVNULL,
        )
        got = {}
        with lengths_csv.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                got.setdefault(pathlib.Path(row["file"]).name, []).append(int(row["tokens"]))

    mismatches = 0
    totals = {}
    for name in FILES:
        want, have = expected[name], got.get(name, [])
        if len(want) != len(have):
            print(f"{name}: {len(want)} conversations in Python, {len(have)} in okla-eval")
            mismatches += 1
        for i, (w, h) in enumerate(zip(want, have)):
            if w != h:
                mismatches += 1
                print(f"{name}: conversation {i + 1}: python {w} tokens, okla-eval {h}")
        totals[name] = {"conversations": len(want), "tokens": sum(want), "max": max(want)}
        print(f"{name}: {len(want)} conversations, {sum(want)} tokens, longest {max(want)} "
              f"({'all equal' if want == have else 'MISMATCH'})")

    OUT.write_text(json.dumps({
        "generator": "scripts/reference/fase2_token_totals.py",
        "tokenizers_version": tokenizers.__version__,
        "template": "models/llama3/tokenizer_config.json chat_template via jinja2",
        "files": totals,
    }, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}; {mismatches} mismatch(es)")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
