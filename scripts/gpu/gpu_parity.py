"""Parity of the trainer (crates/train) with transformers + peft + torch.optim.AdamW.

A tiny random model with a LoRA adapter on the seven projections (peft, B
randomised so every gradient is non-zero), of either architecture:
  llama   LlamaForCausalLM: hidden 256, 2 layers, 8/4 heads, the real 128,256 vocabulary;
  gemma3  Gemma3ForCausalLM: hidden 256, 6 layers (sliding, sliding, full, ×2),
          4/2 heads of 64, query_pre_attn_scalar 48, sliding window 24 (the 64-token
          sequences see the window), linear RoPE scaling ×2 on the full layers,
          local base 1e4, vocabulary 4,096, tied; every norm weight random.
  prepare DIR [ARCH]
                writes DIR/model (HF folder), DIR/adapter (peft folder),
                DIR/inputs.safetensors and, per dtype (f32, bf16), the reference
                DIR/ref_<dtype>.safetensors: logits, loss, LoRA gradients, and the
                LoRA weights after one torch.optim.AdamW step (lr 1e-3, wd 0.01).
  (then)        target/release/examples/train_parity DIR <dtype>  (our trainer)
  compare DIR   prints max-abs and relative (||a-b|| / ||b||) differences and the
                verdict against the stated tolerances; exit 1 on a failure.
Run on the GPU machine (see docs/train.md, "Parity with transformers + peft +
torch.optim.AdamW", for the command and numbers); on a CPU too (the same script,
DEVICE falls back to cpu).
"""
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16}
# relative-difference tolerances per dtype: logits, loss, gradients, AdamW step
TOL = {"f32": {"logits": 1e-4, "loss": 1e-5, "grad": 1e-3, "step": 1e-6},
       "bf16": {"logits": 2e-2, "loss": 5e-3, "grad": 5e-2, "step": 1e-6}}


def llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(vocab_size=128256, hidden_size=256, intermediate_size=512, num_hidden_layers=2,
                      num_attention_heads=8, num_key_value_heads=4, max_position_embeddings=512,
                      rope_theta=500000.0, rms_norm_eps=1e-5, tie_word_embeddings=False)
    return LlamaForCausalLM, LlamaForCausalLM(cfg)


def gemma3():
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    cfg = Gemma3TextConfig(vocab_size=4096, hidden_size=256, intermediate_size=512, num_hidden_layers=6,
                           num_attention_heads=4, num_key_value_heads=2, head_dim=64,
                           query_pre_attn_scalar=48, sliding_window=24, max_position_embeddings=512,
                           layer_types=["sliding_attention", "sliding_attention", "full_attention"] * 2,
                           rope_parameters={"full_attention": {"rope_type": "linear", "factor": 2.0,
                                                               "rope_theta": 1000000.0},
                                            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
                           rms_norm_eps=1e-6, tie_word_embeddings=True, pad_token_id=0)
    model = Gemma3ForCausalLM(cfg)
    # HF starts every Gemma norm at 0 (a scale of 1 + 0): random ones test their use
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith("norm.weight"):
                p.normal_(0.0, 0.1)
    return Gemma3ForCausalLM, model


ARCHS = {"llama": llama, "gemma3": gemma3}


def prepare(d: Path, arch: str = "llama"):
    from peft import LoraConfig, PeftModel, get_peft_model

    torch.manual_seed(0)
    model_class, base = ARCHS[arch]()
    cfg = base.config
    base.save_pretrained(d / "model", safe_serialization=True)
    peft_model = get_peft_model(base, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0,
                                                 target_modules=TARGETS, task_type="CAUSAL_LM"))
    with torch.no_grad():
        for n, p in peft_model.named_parameters():
            if "lora_B" in n:
                p.normal_(0.0, 0.02)
    peft_model.save_pretrained(d / "adapter")
    ids = torch.randint(0, cfg.vocab_size, (2, 64))
    labels = ids.clone()
    labels[:, :20] = -100
    labels[1, 50:] = -100
    save_file({"input_ids": ids, "labels": labels}, str(d / "inputs.safetensors"))
    for name, dtype in DTYPES.items():
        model = model_class.from_pretrained(d / "model", dtype=dtype, attn_implementation="sdpa").to(DEVICE)
        pm = PeftModel.from_pretrained(model, d / "adapter", is_trainable=True)
        pm.train()
        # bf16 as HF Trainer runs it (bf16=True): under autocast, which puts the
        # adapter matmuls in bf16; the base model is bf16 already
        with torch.autocast(DEVICE.split(":")[0], dtype=torch.bfloat16, enabled=name == "bf16"):
            out = pm(input_ids=ids.to(DEVICE), labels=labels.to(DEVICE))
        out.loss.backward()
        ref = {"logits": out.logits.float().detach().cpu().contiguous(),
               "loss": torch.tensor([out.loss.item()], dtype=torch.float64)}
        params = [(n.replace(".default", ""), p) for n, p in pm.named_parameters() if p.requires_grad]
        for n, p in params:
            ref[f"grad.{n}"] = p.grad.detach().float().cpu().contiguous()
        opt = torch.optim.AdamW([p for _, p in params], lr=1e-3, weight_decay=0.01)
        opt.step()
        for n, p in params:
            ref[f"stepped.{n}"] = p.detach().float().cpu().contiguous()
        save_file(ref, str(d / f"ref_{name}.safetensors"))
        print(f"reference {arch} {name} on {DEVICE}: loss {out.loss.item():.6f}, adapter dtype {params[0][1].dtype}")


def rel(a, b):
    a, b = a.double(), b.double()
    return ((a - b).norm() / b.norm().clamp_min(1e-30)).item(), (a - b).abs().max().item()


def compare(d: Path):
    failures = 0
    summary = {}
    for name in DTYPES:
        ref = load_file(str(d / f"ref_{name}.safetensors"))
        ours = load_file(str(d / f"ours_{name}.safetensors"))
        tol = TOL[name]
        rows = {"logits": rel(ours["logits"], ref["logits"]),
                "loss (plain)": rel(ours["loss.plain"], ref["loss"]),
                "loss (checkpointed)": rel(ours["loss.ckpt"], ref["loss"])}
        grads = sorted(k[len("grad."):] for k in ref if k.startswith("grad."))
        for mode in ("plain", "ckpt"):
            worst = max((rel(ours[f"grad.{mode}.{g}"], ref[f"grad.{g}"]) for g in grads), key=lambda r: r[0])
            rows[f"LoRA grads ({'checkpointed' if mode == 'ckpt' else 'plain'}, worst of {len(grads)})"] = worst
        rows["AdamW step (worst tensor)"] = max((rel(ours[f"stepped.{g}"], ref[f"stepped.{g}"]) for g in grads),
                                                key=lambda r: r[0])
        print(f"== {name} ==")
        for label, (r, m) in rows.items():
            key = "logits" if label == "logits" else "loss" if label.startswith("loss") else \
                "step" if label.startswith("AdamW") else "grad"
            ok = r <= tol[key]
            failures += not ok
            print(f"  {label:48s} rel {r:.3e}  max-abs {m:.3e}  tol {tol[key]:.0e}  {'ok' if ok else 'FAIL'}")
            summary[f"{name}: {label}"] = {"rel": r, "max_abs": m, "tol": tol[key], "ok": ok}
    (d / "parity.json").write_text(json.dumps(summary, indent=1))
    print("PARITY", "PASS" if failures == 0 else f"FAIL ({failures})")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    cmd, d = sys.argv[1], Path(sys.argv[2])
    d.mkdir(parents=True, exist_ok=True)
    {"prepare": prepare, "compare": compare}[cmd](d, *sys.argv[3:])
