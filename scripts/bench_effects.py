#!/usr/bin/env python
"""Benchmark: milliseconds per image for each post-render effect, and for sampling.

Each effect runs with ``p=1`` and its default ranges: run ``i`` draws its parameters from
``view_rng(seed, i, 0)`` and times ``apply_effects`` (transform construction and the defensive
input copy included). The figure is the median over the runs; the baseline, measured in the
same run on the same image, is a plain ``np.copy`` of it, so ratios can be compared across
machines.

The last row is the mean cost per image of all ten effects configured with p=0.5.

Usage: python scripts/bench_effects.py [--runs 20] [--width 640 --height 480] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import numpy as np


def make_image(height: int, width: int) -> np.ndarray:
    """A deterministic (H, W, 3) uint8 test image: gradient, a few shapes, fine texture."""
    yy, xx = np.mgrid[0:height, 0:width]
    rgb = np.empty((height, width, 3), np.int64)
    rgb[..., 0] = 40 + 120 * xx // width
    rgb[..., 1] = 60 + 100 * yy // height
    rgb[..., 2] = 90
    rgb[height // 8 : height // 3, width // 8 : width // 3] = (230, 40, 40)
    disc = (yy - height * 0.6) ** 2 + (xx - width * 0.7) ** 2 < (height * 0.2) ** 2
    rgb[disc] = (30, 200, 60)
    rgb[height // 2 : height * 7 // 8, width // 10 : width // 4] = (250, 250, 240)
    rgb += np.random.default_rng(0).integers(-20, 21, (height, width, 1))
    return np.clip(rgb, 0, 255).astype(np.uint8)


def times_ms(run: Callable[[int], object], runs: int) -> list[float]:
    """Wall time of ``run(i)`` for i in range(runs), in milliseconds."""
    times = []
    for i in range(runs):
        start = time.perf_counter()
        run(i)
        times.append(1e3 * (time.perf_counter() - start))
    return times


def median_ms(run: Callable[[int], object], runs: int) -> float:
    """Median wall time of ``run(i)`` for i in range(runs), in milliseconds."""
    return statistics.median(times_ms(run, runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per effect (median)")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON line only")
    args = parser.parse_args()

    import cv2
    from pydantic import TypeAdapter

    from simgen.effects import EFFECT_NAMES, EffectConfig, apply_effects, sample_effects
    from simgen.rng import view_rng

    rgb = make_image(args.height, args.width)
    adapter = TypeAdapter(list[EffectConfig])
    every = adapter.validate_python([{"name": name, "p": 1.0} for name in EFFECT_NAMES])
    half = adapter.validate_python([{"name": name, "p": 0.5} for name in EFFECT_NAMES])
    apply_effects(rgb, sample_effects(every, view_rng(args.seed, 0, 0)))  # import + warm-up

    baseline = median_ms(lambda i: np.copy(rgb), max(200, args.runs))
    results: dict[str, float] = {}
    for config in every:
        draws = [sample_effects([config], view_rng(args.seed, i, 0)) for i in range(args.runs)]
        results[config.name] = median_ms(lambda i, d=draws: apply_effects(rgb, d[i]), args.runs)
    sampling_runs = max(1000, args.runs)
    rngs = [view_rng(args.seed, i, 0) for i in range(sampling_runs)]  # made outside the timing
    results["sample_effects (10 effects, p=0.5)"] = median_ms(
        lambda i: sample_effects(half, rngs[i]), sampling_runs
    )
    half_draws = [sample_effects(half, view_rng(args.seed, i, 0)) for i in range(args.runs)]
    # Which effects apply varies per image (fog dominates when drawn): report the mean.
    results["apply_effects (10 effects, p=0.5; mean)"] = statistics.mean(
        times_ms(lambda i: apply_effects(rgb, half_draws[i]), args.runs)
    )

    if args.json:
        print(json.dumps({"baseline_copy_ms": baseline, "ms": results}))
        return
    print(
        f"{args.width}x{args.height}, median of {args.runs} runs (sampling: {sampling_runs}), "
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"cv2 threads {cv2.getNumThreads()}"
    )
    print(f"{'effect':42s} {'ms/image':>10s} {'x np.copy':>10s}")
    print(f"{'baseline: np.copy':42s} {baseline:10.3f} {1.0:10.1f}")
    for name, ms in results.items():
        print(f"{name:42s} {ms:10.3f} {ms / baseline:10.1f}")


if __name__ == "__main__":
    main()
