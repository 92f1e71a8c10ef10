#!/usr/bin/env python3
"""llama.cpp's side of `okla-eval bench`: pp and tg tokens/s of a GGUF through
llama-cpp-python, with llama-bench's method (one warm-up, then repetitions; pp = one
batch of N prompt tokens into an empty context, tg = N single-token decodes from an
empty context), mean ± sample stddev, and the process's peak RSS.

--plain loads the model with llama.cpp's plain kernels (no weight repacking / AMX), the
only path that runs Gemma 3 on AMX CPUs (plain_kernels.py).

usage: llama_bench.py MODEL.gguf [--threads 1,2] [-p 512] [-n 128] [-r 5] [--plain] [--json]
"""
import argparse
import json
import resource
import statistics
import time

import llama_cpp

from plain_kernels import use_plain_kernels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("-p", "--n-prompt", type=int, default=512)
    ap.add_argument("-n", "--n-gen", type=int, default=128)
    ap.add_argument("-r", "--repetitions", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--plain", action="store_true", help="no extra buffer types (AMX CPUs)")
    args = ap.parse_args()
    if args.plain:
        use_plain_kernels()
    rows = []
    for threads in [int(t) for t in args.threads.split(",")]:
        llm = llama_cpp.Llama(
            args.model, n_ctx=max(args.n_prompt, args.n_gen) + 16, n_batch=512,
            n_threads=threads, n_threads_batch=threads, verbose=False,
        )
        vocab = llm.n_vocab()
        tokens = [(i * 2654435761 >> 7) % vocab for i in range(max(args.n_prompt, args.n_gen))]
        tests = []
        if args.n_prompt:
            tests.append((f"pp{args.n_prompt}", args.n_prompt, 0))
        if args.n_gen:
            tests.append((f"tg{args.n_gen}", 0, args.n_gen))
        for name, n_prompt, n_gen in tests:
            def run():
                llm.reset()
                start = time.perf_counter()
                if n_prompt:
                    llm.eval(tokens[:n_prompt])
                else:
                    for t in tokens[:n_gen]:
                        llm.eval([t])
                return time.perf_counter() - start
            run()
            secs = [run() for _ in range(args.repetitions)]
            ts = [(n_prompt + n_gen) / s for s in secs]
            rows.append({
                "test": name, "n_threads": threads, "avg_ts": statistics.mean(ts),
                "stddev_ts": statistics.stdev(ts) if len(ts) > 1 else 0.0, "samples_ts": ts,
            })
        del llm
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if args.json:
        print(json.dumps({"llama_cpp_python": llama_cpp.__version__, "rows": rows, "peak_rss_bytes": peak}, indent=2))
    else:
        print(f"llama.cpp via llama-cpp-python {llama_cpp.__version__}")
        for r in rows:
            print(f"| {r['n_threads']} | {r['test']} | {r['avg_ts']:.2f} ± {r['stddev_ts']:.2f} |")
        print(f"peak RSS: {peak / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
