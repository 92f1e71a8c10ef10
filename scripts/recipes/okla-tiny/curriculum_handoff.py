#!/usr/bin/env python3
"""Hand a copy curriculum's weights (copy_probe.py, loss_vocabulary = "corpus") over
to OKLA training with the corpus loss vocabulary: zero the embedding rows the
curriculum trained that the OKLA corpus never uses (at inference they then sit at
logit 0 like every other unseen token), and give the OKLA tokens the curriculum
never saw (zero rows) the from-scratch init, normal(0, 0.02): a zero row as an
input would meet RMSNorm at zero, whose gradient is 1/sqrt(eps) ≈ 316 times the
upstream one. Rewrites MODEL in place.
    python scripts/recipes/okla-tiny/curriculum_handoff.py MODEL.safetensors OKLA_TRAIN.jsonl TOKENIZER.json
(train_stages.sh runs it between stage 1's curriculum and its OKLA training.)
"""
import json
import sys

import numpy as np
from safetensors.numpy import load_file, save_file
from tokenizers import Tokenizer

model, okla_train, tokenizer = sys.argv[1:4]
tok = Tokenizer.from_file(tokenizer)
okla = set()
for line in open(okla_train):
    for m in json.loads(line)["messages"]:
        okla.update(tok.encode(m["content"], add_special_tokens=False).ids)
        okla.update(tok.encode(m["role"], add_special_tokens=False).ids)
okla |= {tok.token_to_id(t) for t in ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]}
okla |= set(tok.encode("\n\n", add_special_tokens=False).ids)
weights = load_file(model)
emb = weights["model.embed_tokens.weight"].copy()
trained = set(np.nonzero(np.abs(emb).sum(1))[0].tolist())
drop = sorted(trained - okla)
fresh = sorted(okla - trained)
emb[drop] = 0
emb[fresh] = np.random.default_rng(42).normal(0, 0.02, (len(fresh), emb.shape[1])).astype(emb.dtype)
print(f"OKLA tokens {len(okla)}, curriculum rows {len(trained)}: zeroed {len(drop)}, "
      f"initialised {len(fresh)}, kept {len(trained & okla)}")
weights["model.embed_tokens.weight"] = emb
save_file(weights, model, metadata={"format": "pt"})
