#!/usr/bin/env python3
"""Reference ids of llama.cpp's SentencePiece tokenizer on the Gemma 3 270M GGUF, for
tests/gemma_tokenizer.rs: every distinct message content (system, user, assistant) of
suites/okla/okla_test.jsonl and okla_eval.jsonl plus hand-picked edge cases, tokenized
by llama-cpp-python (`vocab_only=True`) as `Llama.tokenize(text, add_bos=True,
special=True)` and `special=False`, and detokenized by `llama_detokenize(...,
remove_special=True, unparse_special=True)`.

Writes tests/data/text/gemma3_tokenize_vectors.json, one case per line. To stay small,
suite texts are named by the sha256 of their UTF-8 (first 16 hex digits) and the ids of
texts over 48 tokens are kept as `n` and a sha256 of the ids written "1,2,3"; edge
cases carry their text. `plain_*` fields appear only where special=False differs.

Run: $OKLA_CACHE/pyref/bin/python scripts/llama_cpp/tokenize_vs_llama.py [MODEL.gguf]
"""
import ctypes
import hashlib
import json
import os
import sys

import llama_cpp

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../..")
SUITES = ["suites/okla/okla_test.jsonl", "suites/okla/okla_eval.jsonl"]
OUT = "tests/data/text/gemma3_tokenize_vectors.json"
FULL_IDS_MAX = 48

EDGE_CASES = [
    "",
    " ",
    "   ",
    "  leading spaces",
    "trailing spaces  ",
    "multiple   spaces    inside",
    "\n",
    "line one\nline two\n\nline four\n",
    "a\r\nb",
    "\ttab\tseparated\t\tcolumns",
    "  \n \t mixed whitespace \n\n  ",
    "emoji 🚗🚙 😀 👍🏽 🇩🇴",
    "Año, señor: ¿cuánto cuesta el vehículo? Está en perfecta condición, ñoño.",
    "RD$1,250,000",
    "US$ 18,500.00 o RD$1.250.000,50",
    '{"response": "Claro, la yipeta está disponible", "intent": "VehiclePrice", '
    '"confidence": 0.95, "lead": {"name": null, "phone": "809-555-0268"}}',
    "<start_of_turn>user",
    "<start_of_turn>user\nhola, ¿tienen una yipeta?<end_of_turn>\n<start_of_turn>model\n",
    "<bos>hello",
    "</s> ends, <s>starts</s> and <b>bold</b> <table><tr><td>1</td></tr></table>",
    "<unused0> <mask> [multimodal] <start_of_image>",
    "<unk>",
    "\u2581already escaped \u2581",
    "<0x41> is not a byte here",
    "日本語のテキスト と 中文",
    "\u00a0non-breaking\u00a0space",
    "zero\u200bwidth",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "hola!!! ¿¿qué tal?? ...",
]


def short_sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def ids_sha(ids) -> str:
    return short_sha(",".join(map(str, ids)).encode())


def suite_texts():
    texts = []
    for path in SUITES:
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    texts += [m["content"] for m in json.loads(line)["messages"]]
    return texts


def detokenize(vocab, ids) -> bytes:
    arr = (llama_cpp.llama_token * max(len(ids), 1))(*ids)
    size = 64 + 8 * len(ids)
    while True:
        buf = ctypes.create_string_buffer(size)
        n = llama_cpp.llama_detokenize(vocab, arr, len(ids), buf, size, True, True)
        if n >= 0:
            return buf.raw[:n]
        size = -n


def ids_fields(prefix, ids):
    fields = {prefix + "n": len(ids), prefix + "ids_sha": ids_sha(ids)}
    if len(ids) <= FULL_IDS_MAX:
        fields[prefix + "ids"] = ids
    return fields


def main():
    cache = os.environ.get("OKLA_CACHE", os.path.expanduser("~/.cache/okla-eval"))
    model = sys.argv[1] if len(sys.argv) > 1 else os.path.join(cache, "gemma3-270m-q4_k_m.gguf")
    llm = llama_cpp.Llama(model, vocab_only=True, verbose=False)
    vocab = llm._model.vocab
    cases, seen = [], set()
    for text, literal in [(t, True) for t in EDGE_CASES] + [(t, False) for t in suite_texts()]:
        if text in seen:
            continue
        seen.add(text)
        raw = text.encode("utf-8")
        ids = llm.tokenize(raw, add_bos=True, special=True)
        plain = llm.tokenize(raw, add_bos=True, special=False)
        detok = detokenize(vocab, ids)
        case = {"text": text} if literal else {}
        case["sha"] = short_sha(raw)
        case.update(ids_fields("", ids))
        if plain != ids:
            case.update(ids_fields("plain_", plain))
        case["detok_sha"] = short_sha(detok)
        case["round_trips"] = detok == raw
        cases.append(case)
    header = {
        "generator": "scripts/llama_cpp/tokenize_vs_llama.py",
        "llama_cpp_python": llama_cpp.__version__,
        "model": os.path.basename(model),
        "sources": SUITES,
        "tokenize": "Llama.tokenize(text, add_bos=True, special=True); plain_*: special=False",
        "detokenize": "llama_detokenize(ids, remove_special=True, unparse_special=True)",
    }
    lines = [json.dumps(c, ensure_ascii=False) for c in cases]
    with open(os.path.join(ROOT, OUT), "w", encoding="utf-8") as f:
        f.write('{"header": ' + json.dumps(header, ensure_ascii=False) + ',\n"cases": [\n')
        f.write(",\n".join(lines) + "\n]}\n")
    n_special = sum(1 for c in cases if "plain_n" in c)
    n_trip = sum(1 for c in cases if c["round_trips"])
    print(f"{len(cases)} texts ({len(EDGE_CASES)} edge cases), {n_special} where special "
          f"parsing changes the ids, {n_trip} round-trip; wrote {OUT}")


if __name__ == "__main__":
    main()
