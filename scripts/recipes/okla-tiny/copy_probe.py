#!/usr/bin/env python3
"""Prepare a pure copy task: can a model of a given shape learn in-context copying?

Writes DIR/base (config.json + the Llama 3 tokenizer), DIR/data/{train,eval}.jsonl
and DIR/train.toml. Each conversation's system prompt is "Lista: " and 10-20 random
items; the user asks to repeat it; the answer is the same items. The loss has a
no-copy baseline (numbers: ln 900 per number token, spaces free; words: ln 900 per
word), so a run either drops far below it (copying formed) or stays on it.
    python3 scripts/recipes/okla-tiny/copy_probe.py DIR --items numbers --width 64 --layers 2 \\
        --heads 2 --steps 1500 --micro-batch 8 --device cpu
    cd DIR && okla-eval train --config train.toml      # a `train` feature build
The okla-tiny recipe (models/okla-tiny/recipe.md) uses it twice, through
train_stages.sh: `--items okla` as stage 1's copy curriculum and mix, `--items lookup`
as stage 2's mix.
"""
import argparse
import json
import random
import re
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def okla_listing_values(okla_train):
    """The distinct listing values of an OKLA split's system prompts (the single-vehicle
    block and the inventory lines), by field: vehicle, price, ID and mileage."""
    if okla_train is None:
        sys.exit("--items okla needs --okla-items FILE")
    fields = {"ID": set(), "Vehículo": set(), "Precio": set(), "Kilometraje": set()}
    for line in okla_train.open():
        system = json.loads(line)["messages"][0]["content"]
        for field, value in re.findall(r"^- (ID|Vehículo|Precio|Kilometraje): (.+)$", system, re.M):
            fields[field].add(value)
        for row in re.findall(r"^- \[(OK-\d+)\] ([^|]+) \| (RD\$[\d,]+) \|(?:[^|]*\|){3} ([^|]+ km)", system, re.M):
            for field, value in zip(["ID", "Vehículo", "Precio", "Kilometraje"], row):
                fields[field].add(value.strip())
    return [sorted(values) for values in fields.values()]


def okla_inventory_rows(okla_train):
    """The distinct inventory lines of an OKLA split's dealer prompts, as (vehicle, price,
    line): the rows a lookup conversation draws its inventory from."""
    if okla_train is None:
        sys.exit("--items lookup needs --okla-items FILE")
    rows = set()
    for line in okla_train.open():
        system = json.loads(line)["messages"][0]["content"]
        for row, vehicle, price in re.findall(
                r"^(- \[OK-\d+\] ([^|]+?) \| (RD\$[\d,]+).*)$", system, re.M):
            rows.add((vehicle, price, row))
    return sorted(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--items", choices=["numbers", "words", "prices", "mixed", "okla", "lookup"],
                    default="numbers",
                    help="what the lists hold; mixed: each conversation numbers, words or prices; "
                         "okla: listing values (vehicles, prices, IDs, mileages) from --okla-items; "
                         "lookup: not a list to repeat but an inventory of 4-10 of --okla-items' "
                         "dealer rows and a question for one vehicle's price, answered by copying "
                         "that row's price (the copy that must pick the right row)")
    ap.add_argument("--okla-items", type=Path, default=None,
                    help="an OKLA train split (data synth's okla_train.jsonl) whose system prompts' "
                         "listing values --items okla copies: the curriculum then trains the very "
                         "tokens OKLA's answers copy")
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--ffn", type=int, default=128)
    ap.add_argument("--rope-theta", type=float, default=10000.0)
    ap.add_argument("--train", type=int, default=12000, help="train conversations")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--micro-batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--warmup", type=float, default=0.05)
    ap.add_argument("--config", type=Path, default=None,
                    help="take the architecture from this config.json (the shape flags are ignored)")
    ap.add_argument("--save-every", type=int, default=100000)
    ap.add_argument("--loss-vocabulary", choices=["full", "corpus"], default="full",
                    help="the recipe's loss_vocabulary")
    ap.add_argument("--group-by-length", choices=["true", "false"], default="true",
                    help="the recipe's group_by_length (false: plain random micro-batches)")
    ap.add_argument("--filler", type=int, default=0,
                    help="random words of notes after the list in the system prompt: the copy "
                         "distance grows by about this many tokens (OKLA's listing sits 300-900 back)")
    a = ap.parse_args()

    base = a.dir / "base"
    base.mkdir(parents=True, exist_ok=True)
    for f in ["tokenizer.json", "tokenizer_config.json"]:
        shutil.copy(REPO / "models/llama3" / f, base / f)
    if a.config:
        config = json.loads(a.config.read_text())
    else:
        config = json.loads((REPO / "models/okla-tiny/config.json").read_text())
        config.update(
            hidden_size=a.width,
            num_hidden_layers=a.layers,
            num_attention_heads=a.heads,
            num_key_value_heads=a.heads,
            head_dim=a.width // a.heads,
            intermediate_size=a.ffn,
            rope_theta=a.rope_theta,
        )
    (base / "config.json").write_text(json.dumps(config, indent=2))

    rng = random.Random(a.seed)
    vocab = json.loads((base / "tokenizer.json").read_text())["model"]["vocab"]
    words = sorted(t[1:] for t in vocab if t.startswith("Ġ") and re.fullmatch(r"[a-z]{4,8}", t[1:]))
    rng.shuffle(words)
    listing = okla_listing_values(a.okla_items) if a.items == "okla" else []
    inventory = okla_inventory_rows(a.okla_items) if a.items == "lookup" else []
    pools = {
        "okla": lambda: rng.choice(rng.choice(listing)),
        "numbers": lambda: str(rng.randint(100, 999)),
        "words": lambda: rng.choice(words[:900]),
        # Prices as OKLA's listings write them: RD$ and thousands separators.
        "prices": lambda: f"RD${rng.randint(30, 650) * 10_000:,}",
    }

    def lookup():
        rows, seen, count = [], set(), rng.randint(4, 10)
        while len(rows) < count:
            row = rng.choice(inventory)
            if row[0] not in seen:
                seen.add(row[0])
                rows.append(row)
        vehicle, price, _ = rng.choice(rows)
        question = rng.choice(["¿a cuánto está el {}?", "precio del {}", "cuánto cuesta el {}?",
                               "y el {}, en cuánto está?"]).format(vehicle)
        return {"messages": [
            {"role": "system", "content": f"INVENTARIO DISPONIBLE ({len(rows)} vehículos):\n"
                                          + "\n".join(line for _, _, line in rows)},
            {"role": "user", "content": question},
            {"role": "assistant", "content": f"El {vehicle} está publicado en {price}."},
        ]}

    def conversation():
        if a.items == "lookup":
            return lookup()
        kind = rng.choice(["numbers", "words", "prices"]) if a.items == "mixed" else a.items
        count = rng.randint(4, 8) if kind in ("prices", "okla") else rng.randint(10, 20)
        items = (" | " if kind == "okla" else " ").join(pools[kind]() for _ in range(count))
        notes = "\nNotas: " + " ".join(rng.choice(words[900:1800]) for _ in range(a.filler)) if a.filler else ""
        return {"messages": [
            {"role": "system", "content": "Lista: " + items + notes},
            {"role": "user", "content": "repite la lista"},
            {"role": "assistant", "content": items},
        ]}

    data = a.dir / "data"
    data.mkdir(exist_ok=True)
    for name, n in [("train", a.train), ("eval", 50)]:
        with open(data / f"{name}.jsonl", "w") as f:
            for _ in range(n):
                f.write(json.dumps(conversation()) + "\n")
    (a.dir / "train.toml").write_text(f"""model = "base"
from_scratch = true
train_file = "data/train.jsonl"
eval_file = "data/eval.jsonl"
output_dir = "run"
method = "full"
micro_batch_size = {a.micro_batch}
grad_accum = 1
epochs = 100
max_steps = {a.steps}
learning_rate = {a.lr}
warmup_ratio = {a.warmup}
weight_decay = 0.01
max_grad_norm = 1.0
dtype = "{'f32' if a.device == 'cpu' else 'bf16'}"
optimizer = "adamw"
gradient_checkpointing = false
eval_every = 100
save_every = {a.save_every}
max_seq_len = {512 + 2 * a.filler}
seed = 42
device = "{a.device}"
loss_vocabulary = "{a.loss_vocabulary}"
group_by_length = {a.group_by_length}
""")
    print(f"wrote {a.dir}: cd {a.dir} && okla-eval train --config train.toml")


if __name__ == "__main__":
    main()
