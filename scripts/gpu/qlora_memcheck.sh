#!/usr/bin/env bash
# A device call for docs/train.md's "A step without host waits": our QLoRA bench
# built from this tree ($B/train_bench) against one built from an earlier commit
# ($OLD, default $B/old/train_bench) and at two MLP pieces (32 Mi values), first
# without the caching allocator (NVML peak of each step), then two rounds of
# tokens/s each beside the HF baseline. $B is prepared by prepare_gpu_bench.sh;
# copy this script there and carry it:  bash target/gpu-bench/qlora_memcheck.sh
set -uo pipefail
B=target/gpu-bench
OLD="${OLD:-$B/old/train_bench}"
R=/tmp/memcheck; mkdir -p $R /tmp/site
tar xzf $B/bnb-site.tar.gz -C /tmp/site
TORCH_LIB="$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')/lib"
export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
peaks() { python3 - "$B" "$1" "$2" <<'PY'
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from qlora_bench_summary import peak_in
r = json.load(open(sys.argv[2])); t = r["t_steps_start"]; out = []
for s in r["step_s"]:
    out.append(peak_in(Path(sys.argv[3]), t, t + s)); t += s
print(" ".join(f"{p:.3f}" for p in out), "| max", f"{max(out):.3f}", "| tokens/s", r["tokens_per_s"])
PY
}
peak_run() { # name binary extra-args
  python3 $B/gpu_mem_poll.py $R/mem_$1.tsv & p=$!
  PYTORCH_NO_CUDA_MEMORY_CACHING=1 $2 --device cuda --steps 5 --page-optimizer false ${3:-} > $R/$1.json 2>/dev/null
  kill $p; wait $p
  echo "$1 (no caching, per-step peaks GiB): $(peaks $R/$1.json $R/mem_$1.tsv)"
}
peak_run new $B/train_bench
peak_run old "$OLD"
peak_run new32 $B/train_bench "--mlp-piece-values 33554432"
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True PYTHONPATH=/tmp/site
for n in 1 2; do
  for v in new new32; do
    a=""; [ $v = new32 ] && a="--mlp-piece-values 33554432"
    $B/train_bench --device cuda --page-optimizer false $a 2>/dev/null | python3 -c "import json,sys; r=json.load(sys.stdin); print('$v round $n: tokens/s', r['tokens_per_s'], r['step_s'])"
  done
  "$OLD" --device cuda --page-optimizer false 2>/dev/null | python3 -c "import json,sys; r=json.load(sys.stdin); print('old round $n: tokens/s', r['tokens_per_s'], r['step_s'])"
  python3 $B/hf_windowed.py $B/hf_qlora_baseline.py --steps 6 2>/dev/null | python3 -c "import json,sys; r=[json.loads(l) for l in sys.stdin.read().strip().splitlines() if 'tokens_per_s' in l][0]; print('hf round $n: tokens/s', r['tokens_per_s'], r['step_s'])"
done
