"""Polls GPU 0's used memory through NVML every 20 ms until SIGTERM, writing
`unix_time used_bytes` lines to argv[1]. Used by qlora_bench.sh because tch has
no torch.cuda.max_memory_allocated; the figure includes the CUDA context and the
caching allocator's reserve, for every process measured the same way."""
import signal, sys, time

import pynvml

pynvml.nvmlInit()
handle = pynvml.nvmlDeviceGetHandleByIndex(0)
stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
with open(sys.argv[1], "w") as out:
    while not stop:
        out.write(f"{time.time():.3f} {pynvml.nvmlDeviceGetMemoryInfo(handle).used}\n")
        time.sleep(0.02)
