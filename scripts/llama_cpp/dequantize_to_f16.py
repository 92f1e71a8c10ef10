#!/usr/bin/env python3
"""Rewrite a quantized GGUF as F16 with gguf-py: every quantized tensor is
dequantized (gguf.quants) and stored as F16, F32 tensors stay F32, metadata is
copied with general.file_type = 1. Gives a real-weights F16 input (e.g. Gemma 3
270M) for comparing `okla-eval gguf quantize` with llama-quantize.

usage: scripts/llama_cpp/dequantize_to_f16.py IN.gguf OUT.gguf   (pyref venv python)
"""
import sys

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter
from gguf.quants import dequantize


def main() -> None:
    reader = GGUFReader(sys.argv[1])
    arch = reader.fields["general.architecture"].contents()
    writer = GGUFWriter(sys.argv[2], arch)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in ("general.architecture", "general.file_type"):
            continue
        vtype = field.types[0]
        sub = field.types[1] if vtype == GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), vtype, sub)
    writer.add_file_type(1)
    for t in reader.tensors:
        if t.tensor_type == GGMLQuantizationType.F32:
            data = np.asarray(t.data, dtype=np.float32)
        else:
            data = dequantize(t.data, t.tensor_type).astype(np.float16)
        writer.add_tensor(t.name, data.reshape([int(d) for d in reversed(t.shape)]))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    main()
