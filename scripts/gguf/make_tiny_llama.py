#!/usr/bin/env python3
"""Write a small random-weight llama-architecture F16 GGUF with gguf-py (the reference
writer): 16 layers, n_embd 256, grouped-query attention (4 heads, 2 KV heads),
FFN 768, untied output, and a byte-fallback SentencePiece vocab so llama.cpp can
load it and generate. Used to compare `okla-eval gguf quantize` with llama-quantize.

usage: scripts/gguf/make_tiny_llama.py OUT.gguf   (pyref venv python)
"""
import sys

import numpy as np
from gguf import GGUFWriter, TokenType

N_EMBD, N_HEAD, N_HEAD_KV, N_FF, N_LAYER = 256, 4, 2, 768, 16
WORDS = ["the", "a", "car", "price", "model", "year", "seller", "buy", "sell", "new",
         "used", "Toyota", "Honda", "Santo", "Domingo", "is", "of", "and", "for", "with"]


def vocab():
    tokens, scores, types = ["<unk>", "<s>", "</s>"], [0.0, 0.0, 0.0], [
        TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL]
    for b in range(256):
        tokens.append(f"<0x{b:02X}>")
        scores.append(0.0)
        types.append(TokenType.BYTE)
    pieces = ["\u2581" + w for w in WORDS] + list("abcdefghijklmnopqrstuvwxyz")
    pieces += ["\u2581" + c for c in "abcdefghijklmnopqrstuvwxyz"] + ["\u2581"]
    for i, p in enumerate(pieces):
        tokens.append(p)
        scores.append(-float(i))
        types.append(TokenType.NORMAL)
    while len(tokens) < 512:
        tokens.append(f"<extra_{len(tokens)}>")
        scores.append(-1e4)
        types.append(TokenType.UNUSED)
    return tokens, scores, types


def main() -> None:
    rng = np.random.default_rng(42)
    tokens, scores, types = vocab()
    n_vocab = len(tokens)
    w = GGUFWriter(sys.argv[1], "llama")
    w.add_name("tiny random llama")
    w.add_context_length(256)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(N_FF)
    w.add_rope_dimension_count(N_EMBD // N_HEAD)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD_KV)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    w.add_vocab_size(n_vocab)
    w.add_file_type(1)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)

    def mat(rows, cols):
        return (rng.standard_normal((rows, cols)) * 0.05).astype(np.float16)

    def norm(n):
        return (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)

    kv = N_EMBD // N_HEAD * N_HEAD_KV
    w.add_tensor("token_embd.weight", mat(n_vocab, N_EMBD))
    w.add_tensor("output_norm.weight", norm(N_EMBD))
    w.add_tensor("output.weight", mat(n_vocab, N_EMBD))
    for i in range(N_LAYER):
        w.add_tensor(f"blk.{i}.attn_norm.weight", norm(N_EMBD))
        w.add_tensor(f"blk.{i}.attn_q.weight", mat(N_EMBD, N_EMBD))
        w.add_tensor(f"blk.{i}.attn_k.weight", mat(kv, N_EMBD))
        w.add_tensor(f"blk.{i}.attn_v.weight", mat(kv, N_EMBD))
        w.add_tensor(f"blk.{i}.attn_output.weight", mat(N_EMBD, N_EMBD))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", norm(N_EMBD))
        w.add_tensor(f"blk.{i}.ffn_gate.weight", mat(N_FF, N_EMBD))
        w.add_tensor(f"blk.{i}.ffn_up.weight", mat(N_FF, N_EMBD))
        w.add_tensor(f"blk.{i}.ffn_down.weight", mat(N_EMBD, N_FF))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
