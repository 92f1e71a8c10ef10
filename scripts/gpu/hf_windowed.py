"""Runs ../shared/tools/hf_qlora_baseline.py (argv[1], with the remaining
arguments) unchanged, and prints a second JSON line with the Unix times its timed
steps began (its call of torch.cuda.reset_peak_memory_stats) and ended, plus
torch.cuda.max_memory_reserved over those steps, so that the GPU-memory poller's
peak can be read over the same window as ours."""
import json, runpy, sys, time

import torch

marks = {}
reset_peak = torch.cuda.reset_peak_memory_stats


def reset_and_mark(*args, **kwargs):
    marks["t_steps_start"] = time.time()
    return reset_peak(*args, **kwargs)


torch.cuda.reset_peak_memory_stats = reset_and_mark
script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
torch.cuda.synchronize()
marks["t_steps_end"] = time.time()
marks["max_reserved_gib"] = round(torch.cuda.max_memory_reserved() / 2**30, 2)
print(json.dumps(marks))
