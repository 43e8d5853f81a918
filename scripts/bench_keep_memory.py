#!/usr/bin/env python
"""Benchmark: the judge's backbone with glibc's default allocation and with freed memory kept.

``simgen gap`` calls :func:`simgen.memory.keep_freed_memory` before it loads anything: blocks
over 32 MiB then come from the heap and stay there once freed, instead of each being mapped
afresh (and every page faulted in and zeroed by the kernel) and unmapped again. This script
times what dominates a gap run at KITTI's full size, the frozen EfficientNet-Lite0 features of
a batch (``--batch`` random images of ``--size``, as :func:`simgen.gap.features.cache_features`
runs them), in two fresh processes: one as glibc comes (``default``), one after
``keep_freed_memory()`` (``kept``). Each warms up with one batch, then times ``--repeats``.
Prints seconds per batch, the CPU share spent in the kernel, the minor page faults per batch,
the peak resident set, and the ratio default / kept measured in this run.

Usage: python scripts/bench_keep_memory.py [--size 1248x384] [--batch 32] [--repeats 3]
       [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = """
import json, resource, sys, time
mode, width, height, batch, repeats, threads = sys.argv[1:]
from simgen.memory import keep_freed_memory
import torch
if mode == "kept":
    assert keep_freed_memory()
from simgen.gap.backbone import load_lite0
torch.set_num_threads(int(threads))
torch.manual_seed(0)
model = load_lite0().eval()
images = torch.rand(int(batch), 3, int(height), int(width))
with torch.no_grad():
    model.features(images)
    start = resource.getrusage(resource.RUSAGE_SELF)
    began = time.perf_counter()
    for _ in range(int(repeats)):
        model.features(images)
    seconds = time.perf_counter() - began
    end = resource.getrusage(resource.RUSAGE_SELF)
system = end.ru_stime - start.ru_stime
user = end.ru_utime - start.ru_utime
print(json.dumps({
    "seconds_per_batch": seconds / int(repeats),
    "system_share": system / max(system + user, 1e-9),
    "faults_per_batch": (end.ru_minflt - start.ru_minflt) / int(repeats),
    "peak_rss_mib": end.ru_maxrss / 1024,
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1248x384", help="WIDTHxHEIGHT of the input")
    parser.add_argument("--batch", type=int, default=32, help="images per batch (gap caches 32)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    width, height = args.size.split("x")
    found = {}
    for mode in ("default", "kept"):
        done = subprocess.run(
            [sys.executable, "-c", CHILD, mode, width, height, str(args.batch),
             str(args.repeats), str(args.threads)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        found[mode] = json.loads(done.stdout)
        row = found[mode]
        print(
            f"{mode:8s} {row['seconds_per_batch']:7.2f} s per batch of {args.batch} at "
            f"{args.size}; kernel {100 * row['system_share']:4.1f} % of CPU; "
            f"{row['faults_per_batch']:10,.0f} page faults per batch; "
            f"peak RSS {row['peak_rss_mib']:,.0f} MiB"
        )
    ratio = found["default"]["seconds_per_batch"] / found["kept"]["seconds_per_batch"]
    print(f"default / kept: {ratio:.2f}x")


if __name__ == "__main__":
    main()
