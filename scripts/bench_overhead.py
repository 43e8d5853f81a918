#!/usr/bin/env python
"""Benchmark: pipeline overhead with the renderer-only baseline interleaved with the runs.

``bench_batch.py`` measures its baseline once before and once after all its runs; on a shared
VM the renderer's speed drifts by 10-25 % between minutes, which is as large as the overhead
being measured. Here, for one run (worker count, physics helper or not), the sequence is
baseline, run, baseline, run, ..., baseline; each run's overhead is taken against the mean of
the two baselines next to it (measured within a minute of it), and the median over the repeats
is reported.

The baseline draws every pass a labeled image needs (shaded and label passes, in as many
processes as workers, LLVMpipe threads split the same way; see ``bench_batch.renderer_only``);
the overhead is what the rest of the pipeline (physics, labels, encoding, files, start-up,
orchestration) adds, over the whole ``render_dataset`` call ("overall") and from the first to
the last finished image ("steady"), both against the baseline's frames alone. A third figure
("whole vs whole") compares the whole call with the renderer-only processes' whole time, their
own start-up included (spawn, imports, catalog, GL context, first view): what the pipeline
adds to a renderer-only job that renders the same images from scratch.

A fourth ("CPU") compares CPU seconds per image, of this process and all the processes each
side starts (workers, physics helpers, renderer-only processes; their start-up included). On a
machine that both sides keep busy it is the overhead in work rather than in time, and it
drifts much less with the VM's speed than the wall-clock figures.

Usage: python scripts/bench_overhead.py [--num 1200] [--run 2h] [--repeats 3] [--set k=v ...]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_batch import cpu_seconds, end_to_end, load_average, prepare, renderer_only_spans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=1200, help="images per run")
    parser.add_argument("--run", default="2h", help="worker count + h (helper) or i (inline)")
    parser.add_argument("--repeats", type=int, default=3, help="runs, each between baselines")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()

    overrides = [f"num_images={args.num}", f"seed={args.seed}", *args.overrides]
    config, samples, load_before = prepare(overrides)
    workers = int(args.run.rstrip("hi"))

    def baseline() -> tuple[float, float, float]:
        """Renderer-only images/s over its frames and over its whole time; CPU s per image."""
        cpu = cpu_seconds()
        frames, whole, images = renderer_only_spans(config, samples, workers, labels=True)
        return images / frames, images / whole, (cpu_seconds() - cpu) / images

    baselines = [baseline()]
    rows = []
    for _ in range(args.repeats):
        cpu = cpu_seconds()
        run = end_to_end(config, args.run)
        run_cpu = (cpu_seconds() - cpu) / args.num
        baselines.append(baseline())
        around = (baselines[-2][0] + baselines[-1][0]) / 2
        around_whole = (baselines[-2][1] + baselines[-1][1]) / 2
        around_cpu = (baselines[-2][2] + baselines[-1][2]) / 2
        rows.append(
            {
                "images_per_s": run["images_per_s"],
                "steady_images_per_s": run["steady_images_per_s"],
                "first_image_after_s": run["first_image_after_s"],
                "last_image_late_s": run["last_image_late_s"],
                "after_last_image_s": run["after_last_image_s"],
                "baseline_fps": round(around, 3),
                "baseline_whole_fps": round(around_whole, 3),
                "overhead": round(around / run["images_per_s"] - 1, 3),
                "steady_overhead": round(around / run["steady_images_per_s"] - 1, 3),
                "whole_overhead": round(around_whole / run["images_per_s"] - 1, 3),
                "cpu_ms_per_image": round(1000 * run_cpu, 2),
                "baseline_cpu_ms_per_image": round(1000 * around_cpu, 2),
                "cpu_overhead": round(run_cpu / around_cpu - 1, 3),
                "stage_ms_per_image": run["stage_ms_per_image"],
            }
        )
    result = {
        "date": datetime.date.today().isoformat(),
        "images": args.num,
        "run": args.run,
        "overrides": args.overrides,
        "baselines_fps": [round(b[0], 3) for b in baselines],
        "baselines_whole_fps": [round(b[1], 3) for b in baselines],
        "baselines_cpu_ms_per_image": [round(1000 * b[2], 2) for b in baselines],
        "runs": rows,
        "median_overhead": statistics.median(r["overhead"] for r in rows),
        "median_steady_overhead": statistics.median(r["steady_overhead"] for r in rows),
        "median_whole_overhead": statistics.median(r["whole_overhead"] for r in rows),
        "median_cpu_overhead": statistics.median(r["cpu_overhead"] for r in rows),
        "load_before": load_before,
        "load_after": load_average(),
        "cores": os.cpu_count(),
    }
    print(
        f"default tabletop scene, {args.num} images per run, run {args.run}, {os.cpu_count()} "
        f"cores, load {load_before} -> {result['load_after']}"
    )
    print(
        "  renderer-only (all passes) fps over its frames: "
        + ", ".join(f"{b[0]:.2f}" for b in baselines)
        + "; over its whole time: "
        + ", ".join(f"{b[1]:.2f}" for b in baselines)
        + "; CPU ms per image: "
        + ", ".join(f"{1000 * b[2]:.1f}" for b in baselines)
    )
    for k, row in enumerate(rows, 1):
        print(
            f"  run {k}: {row['images_per_s']:.2f} images/s overall, "
            f"{row['steady_images_per_s']:.2f} steady, against {row['baseline_fps']:.2f}: "
            f"{100 * row['overhead']:+.1f}% overall, {100 * row['steady_overhead']:+.1f}% steady; "
            f"whole vs whole ({row['baseline_whole_fps']:.2f}): "
            f"{100 * row['whole_overhead']:+.1f}%; CPU {row['cpu_ms_per_image']:.1f} ms per image "
            f"against {row['baseline_cpu_ms_per_image']:.1f}: {100 * row['cpu_overhead']:+.1f}%"
        )
        print(
            f"         first image after {row['first_image_after_s']} s, last image "
            f"{row['last_image_late_s']} s later than the steady pace, call returned "
            f"{row['after_last_image_s']} s after it"
        )
    print(
        f"  median overhead: {100 * result['median_overhead']:+.1f}% overall, "
        f"{100 * result['median_steady_overhead']:+.1f}% steady, "
        f"{100 * result['median_whole_overhead']:+.1f}% whole vs whole, "
        f"{100 * result['median_cpu_overhead']:+.1f}% CPU"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
