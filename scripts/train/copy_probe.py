#!/usr/bin/env python3
"""Prepare a pure copy task: can a model of a given shape learn in-context copying?

Writes DIR/base (config.json + the Llama 3 tokenizer), DIR/data/{train,eval}.jsonl
and DIR/train.toml. Each conversation's system prompt is "Lista: " and 10-20 random
items; the user asks to repeat it; the answer is the same items. The loss has a
no-copy baseline (numbers: ln 900 per number token, spaces free; words: ln 900 per
word), so a run either drops far below it (copying formed) or stays on it.
    python3 scripts/train/copy_probe.py DIR --items numbers --width 64 --layers 2 \\
        --heads 2 --steps 1500 --micro-batch 8 --device cpu
    cd DIR && okla-eval train --config train.toml      # a `train` feature build
models/okla-tiny/README.md records what the CPU runs gave.
"""
import argparse
import json
import random
import re
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--items", choices=["numbers", "words"], default="numbers")
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
    a = ap.parse_args()

    base = a.dir / "base"
    base.mkdir(parents=True, exist_ok=True)
    for f in ["tokenizer.json", "tokenizer_config.json"]:
        shutil.copy(REPO / "models/llama3" / f, base / f)
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
    if a.items == "numbers":
        pool = [str(n) for n in range(100, 1000)]
    else:
        vocab = json.loads((base / "tokenizer.json").read_text())["model"]["vocab"]
        pool = sorted(t[1:] for t in vocab if t.startswith("Ġ") and re.fullmatch(r"[a-z]{4,8}", t[1:]))
        rng.shuffle(pool)
        pool = pool[:900]

    def conversation():
        items = " ".join(rng.choice(pool) for _ in range(rng.randint(10, 20)))
        return {"messages": [
            {"role": "system", "content": "Lista: " + items},
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
warmup_ratio = 0.05
weight_decay = 0.01
max_grad_norm = 1.0
dtype = "{'f32' if a.device == 'cpu' else 'bf16'}"
optimizer = "adamw"
gradient_checkpointing = false
eval_every = 100
save_every = 100000
max_seq_len = 512
seed = 42
device = "{a.device}"
""")
    print(f"wrote {a.dir}: cd {a.dir} && okla-eval train --config train.toml")


if __name__ == "__main__":
    main()
