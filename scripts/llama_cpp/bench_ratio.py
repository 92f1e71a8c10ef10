#!/usr/bin/env python3
"""okla-eval's engine against llama.cpp (llama-cpp-python) on one GGUF, interleaved:
each round runs `okla-eval bench -o json` then `llama_bench.py --json` back to back
(same thread counts, same llama-bench method), so load from other processes hits both
alike. Prints, per thread count and test, the median tokens/s of each over the rounds,
the median of the per-round ratios (ours / llama.cpp), and each side's peak RSS.

usage: bench_ratio.py MODEL.gguf [--threads 1,2] [--rounds 3] [-r 3] [--okla PATH] [--python PATH]
"""
import argparse
import json
import os
import statistics
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out[out.index("{"):])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("-r", "--repetitions", type=int, default=3)
    ap.add_argument("--okla", default=os.path.join(HERE, "../../target/release/okla-eval"))
    cache = os.environ.get("OKLA_CACHE", os.path.expanduser("~/.cache/okla-eval"))
    ap.add_argument("--python", default=os.path.join(cache, "pyref/bin/python"),
                    help="the interpreter with llama-cpp-python")
    args = ap.parse_args()
    ours, theirs, rss = {}, {}, {"okla-eval": 0, "llama.cpp": 0}
    for _ in range(args.rounds):
        a = run_json([args.okla, "bench", args.model, "--threads", args.threads,
                      "-r", str(args.repetitions), "-o", "json"])
        b = run_json([args.python, os.path.join(HERE, "llama_bench.py"), args.model,
                      "--threads", args.threads, "-r", str(args.repetitions), "--json"])
        for row in a["rows"]:
            ours.setdefault((row["n_threads"], row["test"]), []).append(row["avg_ts"])
        for row in b["rows"]:
            theirs.setdefault((row["n_threads"], row["test"]), []).append(row["avg_ts"])
        rss["okla-eval"] = max(rss["okla-eval"], a.get("peak_rss_bytes") or 0)
        rss["llama.cpp"] = max(rss["llama.cpp"], b["peak_rss_bytes"])
    print(f"{os.path.basename(args.model)}: {args.rounds} interleaved rounds x {args.repetitions} reps")
    print("| threads | test | okla-eval t/s | llama.cpp t/s | ratio (median of rounds) |")
    print("| ---: | --- | ---: | ---: | ---: |")
    for key in sorted(ours):
        o, t = ours[key], theirs.get(key, [])
        ratios = [x / y for x, y in zip(o, t)]
        print(f"| {key[0]} | {key[1]} | {statistics.median(o):.1f} | "
              f"{statistics.median(t):.1f} | {statistics.median(ratios):.2f}x "
              f"({min(ratios):.2f}-{max(ratios):.2f}) |")
    print(f"peak RSS: okla-eval {rss['okla-eval'] / 2**20:.1f} MiB, "
          f"llama.cpp {rss['llama.cpp'] / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
