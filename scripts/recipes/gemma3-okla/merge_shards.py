#!/usr/bin/env python3
"""Join the predictions of a sharded gate (device.sh gate NAME CASES SHARDS THREADS)
into one predictions JSONL whose ids name lines of the whole CASES file, to replay
with `okla-eval gate --predictions` on the unsharded suite.

usage: merge_shards.py RUN_PREFIX SHARDS ROWS_PER_SHARD OUT.jsonl
(RUN_PREFIX-0 … RUN_PREFIX-{SHARDS-1} are the shards' folders, as unpacked from
device.sh gate's NAME.tgz: RUN_PREFIX is shards/NAME, each shard's run folder in run/)
"""
import json
import os
import sys


def main():
    prefix, shards, per, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    lines = []
    for k in range(shards):
        with open(f"{prefix}-{k}/run/predictions.jsonl") as f:
            for line in f:
                row = json.loads(line)
                stem, line_no, turn = row["id"].rsplit(":", 2)
                row["id"] = f"{stem}:{int(line_no) + k * per}:{turn}"
                lines.append(json.dumps(row, ensure_ascii=False))
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, out)
    print(f"{len(lines)} answers from {shards} shards -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
