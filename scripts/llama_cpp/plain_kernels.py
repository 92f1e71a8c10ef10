"""llama.cpp's plain CPU kernels: models loaded without its extra buffer types (weight
repacking, AMX). On CPUs with AMX, llama-cpp-python 0.3.36's AMX / repack path crashes
(ggml_backend_amx_mul_mat) on okla-tiny, on a 1.5 B Llama and on Gemma 3 270M; the plain
kernels then compute every product. Import and call `use_plain_kernels()` before loading
a model."""
import llama_cpp.llama_cpp as llama_cpp_api


def use_plain_kernels():
    """Make every later `Llama(...)` load with `use_extra_bufts = False`."""
    defaults = llama_cpp_api.llama_model_default_params

    def params():
        p = defaults()
        p.use_extra_bufts = False
        return p

    llama_cpp_api.llama_model_default_params = params
