#!/usr/bin/env python3
"""Rewrite an OKLA train split so that dealer-inventory answers quote no amounts.

A width-64 model copies the one price of a single-vehicle prompt reliably, but in a
dealer's inventory (up to 10 rows) it does not learn which row's price to copy and
splices digit groups of several rows into a price that exists nowhere (see
models/okla-tiny/README.md, "Limits"). This rewrite trains the default model to name
inventory vehicles without their price (the listing shows it) instead of inventing
one: every `RD$…` amount in the answer text of a conversation whose system prompt
holds an inventory is removed with the words around it, except in the verbatim
repetitions of the inventory block (copy drills), which copy whole rows in order.
Single-vehicle conversations keep their prices. Rewrites FILE in place and prints
how many answers changed.
    python3 scripts/recipes/okla-tiny/unpriced_inventory.py data/okla_train.jsonl
(stage 3 of models/okla-tiny/recipe.md, through train_stages.sh's `transform`)
"""
import json
import re
import sys
from pathlib import Path

AMOUNT = r"RD\$[0-9][0-9,]*"
# (pattern, replacement), applied in order; the first ones keep the sentence natural.
REWRITES = [
    (re.compile(rf" — {AMOUNT}"), ""),
    (re.compile(rf"\*\*: {AMOUNT} \(en oferta\) \|"), "**: en oferta |"),
    (re.compile(rf"\*\*: {AMOUNT} \|"), "**:"),
    (re.compile(rf"(publicado) (?:en|a) {AMOUNT}"), r"\1 en OKLA"),
    (re.compile(rf"tiene un precio de {AMOUNT}"), "tiene su precio publicado en su ficha de OKLA"),
]
VERBATIM = "Estos son los datos tal como están publicados"


def unpriced(text):
    """`text` with its amounts rewritten away; None when an amount survives every rule."""
    for pattern, replacement in REWRITES:
        text = pattern.sub(replacement, text)
    return None if re.search(AMOUNT, text) else text


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    path = Path(sys.argv[1])
    out, changed, dropped = [], 0, 0
    for line in path.open(encoding="utf-8"):
        conversation = json.loads(line)
        messages = conversation["messages"]
        keep = True
        if "INVENTARIO DISPONIBLE" in messages[0]["content"]:
            for message in messages:
                if message["role"] != "assistant":
                    continue
                answer = json.loads(message["content"])
                text = answer.get("response", "")
                if not re.search(AMOUNT, text) or text.startswith(VERBATIM):
                    continue
                rewritten = unpriced(text)
                if rewritten is None:
                    keep = False
                    break
                answer["response"] = rewritten
                message["content"] = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
                changed += 1
        if keep:
            out.append(json.dumps(conversation, ensure_ascii=False, separators=(",", ":")) + "\n")
        else:
            dropped += 1
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(out), encoding="utf-8")
    tmp.replace(path)
    print(f"{path}: {changed} inventory answers lost their amounts; "
          f"{dropped} conversations dropped (an amount no rule removes); {len(out)} kept")


if __name__ == "__main__":
    main()
