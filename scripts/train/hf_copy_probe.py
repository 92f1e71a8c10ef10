#!/usr/bin/env python3
"""The reference side of the copy probe: train a copy_probe.py folder's task with
transformers' LlamaForCausalLM and a plain AdamW loop (clip 1.0, 5% warmup, cosine),
to tell "the shape cannot copy" from "our trainer cannot" (models/okla-tiny/README.md).
`remap` renumbers the ids to the tokens the data uses (a softmax over those only).
    python scripts/train/hf_copy_probe.py DIR STEPS MICRO_BATCH LR [remap]
Needs torch, transformers and tokenizers (CPU is enough for the remapped vocabulary).
"""
import json, sys, math, random, time, torch
from tokenizers import Tokenizer
from transformers import LlamaConfig, LlamaForCausalLM
d = sys.argv[1]; steps = int(sys.argv[2]); mb = int(sys.argv[3]); lr = float(sys.argv[4]); remap = len(sys.argv) > 5 and sys.argv[5] == 'remap'
torch.manual_seed(0); random.seed(0)
tok = Tokenizer.from_file(d + '/base/tokenizer.json')
cfg = json.load(open(d + '/base/config.json'))
def enc(s): return tok.encode(s, add_special_tokens=False).ids
def sp(t): return [tok.token_to_id(t)]
def render(conv):
    ids, lab = sp('<|begin_of_text|>'), [-100]
    for m in conv['messages']:
        head = sp('<|start_header_id|>') + enc(m['role']) + sp('<|end_header_id|>') + enc('\n\n')
        body = enc(m['content']) + sp('<|eot_id|>')
        ids += head + body
        lab += [-100] * len(head) + (body if m['role'] == 'assistant' else [-100] * len(body))
    return ids, lab
train = [render(json.loads(l)) for l in open(d + '/data/train.jsonl')]
evals = [render(json.loads(l)) for l in open(d + '/data/eval.jsonl')]
if remap:
    used = sorted({t for r in train + evals for t in r[0]})
    idx = {t: i for i, t in enumerate(used)}
    train = [([idx[t] for t in a], [idx[t] if t != -100 else -100 for t in b]) for a, b in train]
    evals = [([idx[t] for t in a], [idx[t] if t != -100 else -100 for t in b]) for a, b in evals]
    cfg['vocab_size'] = len(used); print('vocab', len(used))
model = LlamaForCausalLM(LlamaConfig(**{k: v for k, v in cfg.items() if k not in ('architectures',)}))
def batch(rows):
    T = max(len(r[0]) for r in rows)
    ids = torch.tensor([r[0] + [0] * (T - len(r[0])) for r in rows])
    lab = torch.tensor([r[1] + [-100] * (T - len(r[1])) for r in rows])
    att = torch.tensor([[1] * len(r[0]) + [0] * (T - len(r[0])) for r in rows])
    return ids, lab, att
opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
t0 = time.time()
for step in range(1, steps + 1):
    w = min(1.0, step / (0.05 * steps)); cur = lr * w * 0.5 * (1 + math.cos(math.pi * max(0, step - 0.05 * steps) / (0.95 * steps)))
    for g in opt.param_groups: g['lr'] = cur
    ids, lab, att = batch(random.sample(train, mb))
    loss = model(input_ids=ids, attention_mask=att, labels=lab).loss
    loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step(); opt.zero_grad()
    if step % 50 == 0:
        with torch.no_grad():
            ids, lab, att = batch(evals)
            el = model(input_ids=ids, attention_mask=att, labels=lab).loss.item()
        print(f'step {step} loss {loss.item():.3f} eval {el:.3f} {time.time()-t0:.0f}s', flush=True)
