"""Summarises one qlora_bench.sh run (argv[1] = its output folder): tokens/s and
peak GPU memory of our trainer and of the transformers + peft + bitsandbytes
baseline, and their ratios. Peak memory = the NVML poller's highest `used` within
each run's timed steps (CUDA context and allocator reserve included, alike for
both); the baseline's own max_memory_allocated / max_memory_reserved are shown too."""
import json, sys
from pathlib import Path

GIB = 2**30


def json_lines(path):
    return [json.loads(l) for l in path.read_text().splitlines() if l.startswith("{")]


def first_used(poll):
    lines = poll.read_text().splitlines()
    return int(lines[0].split()[1]) / GIB if lines else float("nan")


def peak_in(poll, start, end):
    used = [int(b) for t, b in (l.split() for l in poll.read_text().splitlines()) if start <= float(t) <= end]
    return max(used) / GIB if used else float("nan")


def main():
    out = Path(sys.argv[1])
    ours = json_lines(out / "ours.json")[-1]
    hf, hf_marks = json_lines(out / "hf.json")[-2:]
    ours_peak = peak_in(out / "mem_ours.tsv", ours["t_steps_start"], ours["t_steps_end"])
    hf_peak = peak_in(out / "mem_hf.tsv", hf_marks["t_steps_start"], hf_marks["t_steps_end"])
    rows = [
        ("tokens/s", ours["tokens_per_s"], hf["tokens_per_s"]),
        ("peak GPU memory, NVML (GiB)", round(ours_peak, 2), round(hf_peak, 2)),
        ("step times (s)", ours["step_s"], hf["step_s"]),
        ("setup (s)", ours["setup_s"], hf["setup_s"]),
        ("trainable params", ours["trainable_params"], hf["trainable_params"]),
    ]
    print(f"GPU: {hf['gpu']}; torch {hf['torch']}, bitsandbytes {hf['bnb']}")
    print(f"shape: {ours['layers']} layers, batch {ours['batch']} x seq {ours['seq']}, LoRA r{ours['lora_r']}")
    print(f"{'':32} {'ours':>20} {'HF baseline':>20}")
    for name, a, b in rows:
        print(f"{name:32} {str(a):>20} {str(b):>20}")
    print(f"NVML used before each process allocated: ours {first_used(out / 'mem_ours.tsv'):.2f} GiB, HF {first_used(out / 'mem_hf.tsv'):.2f} GiB")
    print(f"baseline max_memory_allocated {hf['peak_mem_gib']} GiB, max_memory_reserved {hf_marks['max_reserved_gib']} GiB")
    print(f"ratio tokens/s ours/HF = {ours['tokens_per_s'] / hf['tokens_per_s']:.3f}")
    print(f"ratio peak memory (NVML) ours/HF = {ours_peak / hf_peak:.3f}")
    print(f"our losses: {ours['loss']}")


if __name__ == "__main__":
    main()
