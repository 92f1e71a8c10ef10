"""Writes a Llama-3-8B-Instruct-layout HF folder with random weights: config.json,
generation_config.json, bf16 weights in SHARDS safetensors files plus
model.safetensors.index.json (the names and order of the real checkpoint), and the
Llama 3 tokenizer files from models/llama3. Each tensor is drawn (normal, std 0.02;
norms are ones), written and freed before the next, so host memory stays near one
tensor. Defaults are Llama-3-8B's shape; smaller shapes serve a local dry run.
Usage: python write_hf_llama.py OUT [--layers 32] [--dim 4096] [--ff 14336]
       [--heads 32] [--kv-heads 8] [--vocab 128256] [--shards 4] [--device cuda]"""
import argparse, json, shutil, struct, time
from pathlib import Path

import torch

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--layers", type=int, default=32)
ap.add_argument("--dim", type=int, default=4096)
ap.add_argument("--ff", type=int, default=14336)
ap.add_argument("--heads", type=int, default=32)
ap.add_argument("--kv-heads", type=int, default=8)
ap.add_argument("--vocab", type=int, default=128256)
ap.add_argument("--shards", type=int, default=4)
ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
ap.add_argument("--tokenizer", default="models/llama3")
args = ap.parse_args()

out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
head_dim = args.dim // args.heads
kv = args.kv_heads * head_dim


def shapes():
    """(name, shape) in the real checkpoint's order."""
    yield "model.embed_tokens.weight", (args.vocab, args.dim)
    for i in range(args.layers):
        p = f"model.layers.{i}."
        yield p + "input_layernorm.weight", (args.dim,)
        yield p + "mlp.down_proj.weight", (args.dim, args.ff)
        yield p + "mlp.gate_proj.weight", (args.ff, args.dim)
        yield p + "mlp.up_proj.weight", (args.ff, args.dim)
        yield p + "post_attention_layernorm.weight", (args.dim,)
        yield p + "self_attn.k_proj.weight", (kv, args.dim)
        yield p + "self_attn.o_proj.weight", (args.dim, args.dim)
        yield p + "self_attn.q_proj.weight", (args.dim, args.dim)
        yield p + "self_attn.v_proj.weight", (kv, args.dim)
    yield "model.norm.weight", (args.dim,)
    yield "lm_head.weight", (args.vocab, args.dim)


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


tensors = list(shapes())
total = sum(numel(s) for _, s in tensors) * 2
per_shard = total / args.shards
groups, size = [[]], 0
for name, shape in tensors:
    if size >= per_shard * len(groups) and len(groups) < args.shards:
        groups.append([])
    groups[-1].append((name, shape))
    size += numel(shape) * 2

gen = torch.Generator(device=args.device).manual_seed(0)
weight_map = {}
t0 = time.time()
for k, group in enumerate(groups):
    file = f"model-{k + 1:05d}-of-{len(groups):05d}.safetensors"
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in group:
        nbytes = numel(shape) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
        weight_map[name] = file
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(out / file, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        for name, shape in group:
            if len(shape) == 1:
                t = torch.ones(shape, dtype=torch.bfloat16)
            else:
                t = (torch.randn(shape, generator=gen, device=args.device) * 0.02).to(torch.bfloat16).cpu()
            f.write(t.view(torch.int16).numpy().tobytes())
            del t
    print(f"{file}: {len(group)} tensors, {offset / 2**30:.2f} GiB, {time.time() - t0:.0f} s", flush=True)

(out / "model.safetensors.index.json").write_text(
    json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2))
config = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "torch_dtype": "bfloat16",
    "vocab_size": args.vocab, "hidden_size": args.dim, "intermediate_size": args.ff,
    "num_hidden_layers": args.layers, "num_attention_heads": args.heads,
    "num_key_value_heads": args.kv_heads, "hidden_act": "silu", "max_position_embeddings": 8192,
    "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "rope_scaling": None, "tie_word_embeddings": False,
    "attention_bias": False, "mlp_bias": False, "initializer_range": 0.02,
    "bos_token_id": 128000, "eos_token_id": 128009,
}
(out / "config.json").write_text(json.dumps(config, indent=2))
(out / "generation_config.json").write_text(
    json.dumps({"bos_token_id": 128000, "eos_token_id": [128001, 128009], "do_sample": True}, indent=2))
for name in ("tokenizer.json", "tokenizer_config.json"):
    shutil.copy(Path(args.tokenizer) / name, out / name)
print(f"{out}: {total / 2**30:.2f} GiB of bf16 weights in {len(groups)} shards, {time.time() - t0:.0f} s")
