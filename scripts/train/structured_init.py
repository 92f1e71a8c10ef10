#!/usr/bin/env python3
"""Write a model folder's initial weights with layer 0's heads wired as positional heads.

A small Llama trained from random weights has to discover in-context copying by
itself, and on our data it never did (models/okla-tiny/README.md): copying needs
an induction circuit, whose first half is a head that attends a fixed number of
positions back, and nothing rewards that head before the second half exists.
This script builds the first half so training only has to find the second:

- every token embedding gets one shared component (dimension 0, value --const),
  so layer 0's normalized input always has a constant direction to read;
- in layer 0, head h (for each offset in --offsets) reads only that direction
  into its query and key, with per-frequency phases chosen so that RoPE makes the
  score peak where the key is exactly `offset` positions before the query: the
  head attends `offset` tokens back, whatever the tokens are;
- that head's value/output pair copies a random --subspace of the attended
  token's embedding into the residual stream, so the next layer can read
  "the token `offset` back" at every position;
- everything else is HF's fresh initialization (normal(0, 0.02), norms 1).

The weights go to DIR/model.safetensors (f32), next to DIR/config.json. Train from
it with `from_scratch = false` and `method = "full"`. Needs numpy only.
    python3 scripts/train/structured_init.py base --offsets 1 2 --seed 42
"""
import argparse
import json
import math
import struct
from pathlib import Path

import numpy as np


def weight_shapes(c):
    """The HF names and shapes of a Llama's weights, in the order HF lists them."""
    h, i, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    hd = c.get("head_dim") or h // c["num_attention_heads"]
    q, kv = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    shapes = [("model.embed_tokens.weight", (v, h))]
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}"
        shapes += [
            (f"{p}.self_attn.q_proj.weight", (q, h)),
            (f"{p}.self_attn.k_proj.weight", (kv, h)),
            (f"{p}.self_attn.v_proj.weight", (kv, h)),
            (f"{p}.self_attn.o_proj.weight", (h, q)),
            (f"{p}.mlp.gate_proj.weight", (i, h)),
            (f"{p}.mlp.up_proj.weight", (i, h)),
            (f"{p}.mlp.down_proj.weight", (h, i)),
            (f"{p}.input_layernorm.weight", (h,)),
            (f"{p}.post_attention_layernorm.weight", (h,)),
        ]
    shapes.append(("model.norm.weight", (h,)))
    if not c.get("tie_word_embeddings", False):
        shapes.append(("lm_head.weight", (v, h)))
    return shapes


def positional_query_key(hd, theta, offset, amplitudes):
    """Query and key vectors (HF rotate-half layout: pair j is dims j and j + hd/2)
    whose RoPE score is sum_j amplitudes_j^2 cos(freq_j (m - n - offset)): largest
    when the key sits `offset` positions before the query."""
    half = hd // 2
    q, k = np.zeros(hd), np.zeros(hd)
    for j, (freq, a) in enumerate(zip(frequencies(hd, theta), amplitudes)):
        k[j] = a
        q[j], q[j + half] = a * math.cos(-offset * freq), a * math.sin(-offset * freq)
    return q, k


def frequencies(hd, theta):
    """RoPE's angular frequencies of a head, pair by pair."""
    return [theta ** (-2.0 * j / hd) for j in range(hd // 2)]


def frequency_weights(hd, theta, offset, span, rounds=4000):
    """How to share a positional head's score among its RoPE pairs (weights summing
    to 1) so that the wanted position beats every other one by the widest margin.

    The score's drop at a distance d from the wanted position is
    sum_j w_j (1 - cos(freq_j d)), for d from -offset (the query itself) to span;
    maximizing its minimum over d is a zero-sum game, solved by multiplicative
    weights (the average of the iterates converges to the optimum)."""
    f = np.array(frequencies(hd, theta))
    d = np.array([x for x in range(-offset, span) if x != 0], dtype=np.float64)
    drop = 1.0 - np.cos(np.outer(d, f))
    w, total = np.full(len(f), 1.0 / len(f)), np.zeros(len(f))
    for _ in range(rounds):
        worst = drop[np.argmin(drop @ w)]
        w = w * np.exp(0.5 * worst)
        w /= w.sum()
        total += w
    w = total / rounds
    return w, float(np.min(drop @ w))


def write_safetensors(path, tensors):
    """tensors: list of (name, float32 array); written atomically."""
    header, offset = {}, 0
    for name, t in tensors:
        n = t.nbytes
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + n]}
        offset += n
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for _, t in tensors:
            f.write(np.ascontiguousarray(t, dtype="<f4").tobytes())
    tmp.replace(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", type=Path, help="model folder holding config.json")
    ap.add_argument("--offsets", type=int, nargs="+", default=[1, 2],
                    help="one layer-0 head per offset (heads 0, 1, ...)")
    ap.add_argument("--const", type=float, default=0.5,
                    help="the shared embedding component (dimension 0)")
    ap.add_argument("--margin", type=float, default=15.0,
                    help="attention logit of the wanted position over any other one")
    ap.add_argument("--subspace", type=int, default=0,
                    help="dimensions of the attended token a head copies (0: the head dim)")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()

    c = json.loads((a.dir / "config.json").read_text())
    h, heads = c["hidden_size"], c["num_attention_heads"]
    hd = c.get("head_dim") or h // heads
    if c["num_key_value_heads"] != heads:
        raise SystemExit("structured_init: grouped-query attention is not supported")
    if len(a.offsets) > heads:
        raise SystemExit(f"structured_init: {len(a.offsets)} offsets but {heads} heads")
    rng = np.random.default_rng(a.seed)
    w = {}
    for name, shape in weight_shapes(c):
        w[name] = np.ones(shape, np.float32) if len(shape) == 1 else \
            (rng.standard_normal(shape) * 0.02).astype(np.float32)

    emb = w["model.embed_tokens.weight"]
    emb[:, 0] = a.const
    # Layer 0's normalized input along dimension 0 (RMSNorm weight 1).
    rms = math.sqrt((a.const ** 2 + (h - 1) * 0.02 ** 2) / h)
    x0 = a.const / rms
    theta = c.get("rope_theta", 10000.0)
    span = c.get("max_position_embeddings", 4096)
    sub = a.subspace or hd
    if not 0 < sub <= min(hd, h - 1):
        raise SystemExit(f"structured_init: --subspace must be 1..{min(hd, h - 1)}, got {sub}")
    value_scale = a.const / math.sqrt(sub)
    p = "model.layers.0.self_attn"
    for head, offset in enumerate(a.offsets):
        weights, drop = frequency_weights(hd, theta, offset, span)
        score = a.margin / drop
        print(f"structured_init: layer 0 head {head} attends {offset} back, "
              f"logit margin {a.margin} over any other position (peak logit {score:.0f})")
        per_pair = score * math.sqrt(hd) / (x0 * x0)
        rows = slice(head * hd, (head + 1) * hd)
        q, k = positional_query_key(hd, theta, offset, np.sqrt(weights * per_pair))
        for proj, vec in [("q_proj", q), ("k_proj", k)]:
            m = np.zeros((hd, h), np.float32)
            m[:, 0] = vec
            w[f"{p}.{proj}.weight"][rows] = m
        # Value: an orthonormal projection of the content dimensions (1..h-1);
        # output: its transpose, so the head adds a scaled copy of that subspace
        # of the attended token's embedding.
        basis, _ = np.linalg.qr(rng.standard_normal((h - 1, sub)))
        v = np.zeros((hd, h), np.float32)
        v[:sub, 1:] = basis.T
        o = np.zeros((h, hd), np.float32)
        o[1:, :sub] = basis * value_scale
        w[f"{p}.v_proj.weight"][rows] = v
        w[f"{p}.o_proj.weight"][:, rows] = o

    write_safetensors(a.dir / "model.safetensors", [(n, w[n]) for n, _ in weight_shapes(c)])
    print(f"structured_init: wrote {a.dir / 'model.safetensors'}")


if __name__ == "__main__":
    main()
