#!/usr/bin/env python3
"""How many vehicle names ("2022 Hyundai Tucson Limited") in dealer-inventory answers
appear in that conversation's system prompt (the dealer's inventory): a gate run's
predictions.jsonl against the suite's case file, and the case file's own reference
answers. The gate has no such check yet (anti_hallucination covers amounts only);
models/okla-tiny/README.md quotes this count for the default model.

usage: vehicle_names_grounded.py CASES.jsonl PREDICTIONS.jsonl
"""
import json
import re
import sys

# A model year, then the make, model and trim words, up to the first word that is
# not part of the name (lowercase, punctuation, "—", "**", "(").
NAME = re.compile(r"(20\d\d [A-Z][\w-]+(?: [\w-]+){1,3}?)(?=\*\*|\n|$| —| está| tiene| publicado| \(|:)")
INVENTORY = "INVENTARIO DISPONIBLE"


def count(pairs):
    """(grounded, total) vehicle names over (system prompt, answer text) pairs."""
    grounded = total = 0
    for system, text in pairs:
        for name in NAME.findall(text):
            total += 1
            grounded += name in system
    return grounded, total


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    cases = [json.loads(line)["messages"] for line in open(sys.argv[1], encoding="utf-8")]
    stem = sys.argv[1].rsplit("/", 1)[-1].rsplit(".", 1)[0]
    by_id = {}
    for line_no, messages in enumerate(cases, 1):
        turns = [m for m in messages if m["role"] == "assistant"]
        for turn, message in enumerate(turns):
            by_id[f"{stem}:{line_no}:{turn}"] = (messages[0]["content"], message["content"])
    inventory = {k: v for k, v in by_id.items() if INVENTORY in v[0]}
    predicted = []
    for line in open(sys.argv[2], encoding="utf-8"):
        p = json.loads(line)
        if p["id"] in inventory and p.get("parsed"):
            predicted.append((inventory[p["id"]][0], str(p["parsed"].get("response", ""))))
    reference = [(system, json.loads(answer)["response"]) for system, answer in inventory.values()]
    for label, pairs in [("predictions", predicted), ("references", reference)]:
        grounded, total = count(pairs)
        print(f"{label}: {grounded} of {total} vehicle names in inventory answers are in the inventory")


if __name__ == "__main__":
    main()
