"""The reference Llama 3 chat rendering and tokenization shared by the text scripts.

Renders with jinja2 and the real `chat_template` string of
models/llama3/tokenizer_config.json, in the environment Hugging Face transformers'
apply_chat_template builds (immutable sandbox, trim_blocks, lstrip_blocks, loop
controls), and tokenizes with the Python `tokenizers` package, special tokens
recognised and none added (apply_chat_template's tokenize=True).
"""
import json
import pathlib

import jinja2
import jinja2.ext
import jinja2.sandbox
import tokenizers

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "llama3"


class Llama3Reference:
    """tokenizer.json + tokenizer_config.json of models/llama3."""

    def __init__(self, model_dir=MODEL):
        self.config = json.loads((model_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
        self.tokenizer = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        env = jinja2.sandbox.ImmutableSandboxedEnvironment(
            trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols]
        )
        self.template = env.from_string(self.config["chat_template"])

    def render(self, messages):
        return self.template.render(
            messages=messages,
            bos_token=self.config["bos_token"],
            eos_token=self.config["eos_token"],
            add_generation_prompt=True,
        )

    def encode(self, text):
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def count_batch(self, conversations):
        texts = [self.render(c) for c in conversations]
        return [len(e.ids) for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]
