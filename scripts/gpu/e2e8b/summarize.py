"""Turns e2e.sh's logs folder (argv[1]) into the markdown table of docs/train.md:
per pipeline step its wall time and peak host RSS (/usr/bin/time -v), its NVML peak
of GPU memory used (whole process, CUDA context included), and the training's label
tokens/s (the assistant tokens the loss covers, as metrics.jsonl counts them, steps
2..N over the elapsed time between them; prompts and padding are processed too but not
counted); then the gate's per-case timings and the bench rows."""
import csv, json, sys
from pathlib import Path

GIB = 2**30
logs = Path(sys.argv[1])


def time_fields(name):
    path = logs / f"{name}.time"
    if not path.exists():
        return None
    fields = {}
    for line in path.read_text().splitlines():
        key, _, value = line.strip().rpartition(": ")
        fields[key] = value
    return fields


def wall_s(fields):
    parts = [float(p) for p in fields["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":")]
    return sum(p * 60**i for i, p in enumerate(reversed(parts)))


def nvml_peak(name):
    path = logs / f"{name}.nvml"
    if not path.exists():
        return ""
    used = [int(l.split()[1]) for l in path.read_text().splitlines() if l.strip()]
    return f"{max(used) / GIB:.2f}" if used else ""


def tokens_per_s(metrics):
    path = logs / metrics
    if not path.exists():
        return ""
    rows = [json.loads(l) for l in path.read_text().splitlines() if l.startswith('{"step"')]
    rows = [r for r in rows if "tokens" in r]
    if len(rows) < 2:
        return ""
    tokens = sum(r["tokens"] for r in rows[1:])
    return f"{tokens / (rows[-1]['elapsed_s'] - rows[0]['elapsed_s']):,.0f}"


steps = [
    ("write", "write the bf16 folder (python + torch)", None),
    ("train", "okla-eval train (caching allocator)", "metrics.jsonl"),
    ("train_nocache", "okla-eval train, 2 steps, no caching allocator", "metrics_nocache.jsonl"),
    ("export", "okla-eval export → Q4_K_M", None),
    ("gate", "okla-eval gate (CPU)", None),
    ("bench", "okla-eval bench (CPU)", None),
]
print("| step | wall time (s) | peak host RSS (GiB) | peak GPU memory, NVML (GiB) | label tokens/s | exit |")
print("|---|---:|---:|---:|---:|---:|")
for name, label, metrics in steps:
    fields = time_fields(name)
    if fields is None:
        print(f"| {label} | not run | | | | |")
        continue
    rss = int(fields["Maximum resident set size (kbytes)"]) * 1024 / GIB
    tps = tokens_per_s(metrics) if metrics else ""
    print(f"| {label} | {wall_s(fields):.0f} | {rss:.2f} | {nvml_peak(name)} | {tps} | {fields.get('Exit status', '?')} |")

timings = logs / "gate_timings.csv"
if timings.exists():
    rows = list(csv.DictReader(timings.open()))
    print("\n| gate case | latency (s) | ttft (s) | prompt tokens | completion tokens |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['id']} | {float(r['latency_s']):.1f} | {float(r['ttft_s'] or 'nan'):.1f} | {r['prompt_tokens']} | {r['completion_tokens']} |")
for name in ("llama_plain", "llama_repack"):
    log = logs / f"{name}.log"
    text = log.read_text() if log.exists() else ""
    if text.lstrip().startswith("{"):
        report = json.loads(text[text.index("{"):])
        for r in report["rows"]:
            print(f"llama.cpp {name[6:]}: {r['test']} at {r['n_threads']} threads: {r['avg_ts']:.2f} ± {r['stddev_ts']:.2f} t/s")
    elif log.exists():
        print(f"llama.cpp {name[6:]}: no result ({text.strip().splitlines()[-1:] or 'empty log'})")
bench = logs / "bench.log"
if bench.exists():
    print("\nbench rows:")
    for line in bench.read_text().splitlines():
        if line.startswith("{"):
            print("    " + line)
