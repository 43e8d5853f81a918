#!/usr/bin/env python
"""Benchmark: resident memory of one worker over many images (does memory creep?).

Renders ``--num`` images of the default tabletop scene with one worker in this process (the
same code a worker process runs: one renderer reused across scenes, every image and record
written), reading this process's resident set size (VmRSS) between scenes, right after the
worker's heap trimmer ran (:mod:`simgen.memory`: it gives freed heap pages back when the
resident set grew by 96 MiB since its last trim): what a worker keeps from one scene to the
next. Within a scene RSS swings by tens of MiB with its meshes, textures and
images; the peak over every image is reported too. By default the scenes settle in a physics
helper process recycled as ``simgen render`` recycles it (pybullet leaks every mesh collision
shape); the helpers' RSS is sampled and reported separately. ``--inline-physics`` settles
inside the worker instead.

It prints RSS after the first scene, after the warm-up (the first ``--warmup`` images), at the
end, and the growth between the medians of the first and last tenth of the samples after
warm-up, with a least-squares slope over them. It also counts the shader programs the worker
compiled (pyrender compiles one per combination of material features and, in simgen, light
counts; each holds a few MiB of llvmpipe machine code), to tell a cache that fills from a leak.
Workers compile every program the scene's lights can need when they start (``render_dataset``'s
``warm_shaders``); ``--no-warm`` compiles each when a view first needs it, ``--no-trim`` never
trims.

Usage: python scripts/bench_memory.py [--num 400] [--warmup 40] [--width 640 --height 480]
       [--inline-physics] [--no-trim] [--no-warm] [--json]
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import os
import tempfile
import threading
import time

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")


def rss_mib() -> float:
    """Resident set size of this process in MiB (Linux ``/proc/self/statm``)."""
    from simgen.memory import resident_mib

    rss = resident_mib()
    if rss is None:
        raise RuntimeError("this benchmark reads /proc/self/statm (Linux)")
    return rss


def child_rss_mib() -> float:
    """Summed RSS in MiB of this process's live child processes (the physics helpers)."""
    total = 0.0
    me = str(os.getpid())
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            if fields[1] != me:  # the parent pid
                continue
            with open(f"/proc/{entry}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024.0
        except (OSError, IndexError):
            continue
    return total


def sample_children(stop: threading.Event, peaks: list[float]) -> None:
    """Record the children's RSS every 0.25 s until ``stop`` is set."""
    while not stop.wait(0.25):
        peaks.append(child_rss_mib())


def count_programs() -> list[int]:
    """A one-element list that counts the pyrender shader programs created from now on."""
    from pyrender.shader_program import ShaderProgram

    counter = [0]
    init = ShaderProgram.__init__

    def counting_init(self, *args, **kwargs):
        counter[0] += 1
        init(self, *args, **kwargs)

    ShaderProgram.__init__ = counting_init
    return counter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--inline-physics", action="store_true")
    parser.add_argument("--no-trim", action="store_true", help="do not trim the heap per scene")
    parser.add_argument(
        "--no-warm", action="store_true", help="compile shader programs when first needed"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import numpy as np

    import simgen.produce.workers
    from simgen.config import load_config
    from simgen.produce.physics_helper import RECYCLE_AFTER
    from simgen.produce.runner import render_dataset

    config = load_config(
        None,
        [
            f"num_images={args.num}",
            f"seed={args.seed}",
            f"image.width={args.width}",
            f"image.height={args.height}",
        ],
    )
    samples: list[tuple[int, float, int]] = []  # (images done, RSS between scenes, programs)
    peak = [0.0]
    images_done = [0]
    start_rss = rss_mib()
    programs = count_programs()

    class SampledTrimmer(simgen.produce.workers.HeapTrimmer):
        def after_scene(self) -> bool:  # the worker calls it once after every scene
            trimmed = super().after_scene()
            samples.append((images_done[0], rss_mib(), programs[0]))
            return trimmed

    if args.no_trim:
        simgen.produce.workers.HeapTrimmer = functools.partial(SampledTrimmer, trim=lambda: False)
    else:
        simgen.produce.workers.HeapTrimmer = SampledTrimmer

    def progress(images: int, total: int) -> None:
        images_done[0] = images
        peak[0] = max(peak[0], rss_mib())

    load_before = os.getloadavg()[0]
    child_peaks: list[float] = []
    stop = threading.Event()
    sampler = threading.Thread(target=sample_children, args=(stop, child_peaks), daemon=True)
    sampler.start()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        render_dataset(
            config,
            tmp,
            progress=progress,
            physics_process=not args.inline_physics,
            warm_shaders=not args.no_warm,
        )
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    half = len(child_peaks) // 2

    done = np.array([d for d, _, _ in samples], dtype=np.float64)
    rss = np.array([r for _, r, _ in samples], dtype=np.float64)
    compiled = np.array([c for _, _, c in samples])
    after = done >= args.warmup
    warm_rss = float(rss[after][0])
    window = max(1, int(after.sum()) // 10)
    first_median = float(np.median(rss[after][:window]))
    last_median = float(np.median(rss[after][-window:]))
    slope = float(np.polyfit(done[after], rss[after], 1)[0]) if after.sum() > 2 else 0.0
    result = {
        "date": datetime.date.today().isoformat(),
        "images": args.num,
        "size": f"{args.width}x{args.height}",
        "seconds": round(seconds, 1),
        "rss_mib_before": round(start_rss, 1),
        "rss_mib_first_scene": round(float(rss[0]), 1),
        "rss_mib_after_warmup": round(warm_rss, 1),
        "rss_mib_end": round(float(rss[-1]), 1),
        "rss_mib_max_between_scenes": round(float(rss.max()), 1),
        "rss_mib_peak_any_image": round(peak[0], 1),
        "rss_mib_median_first_tenth": round(first_median, 1),
        "rss_mib_median_last_tenth": round(last_median, 1),
        "median_growth_percent": round(100 * (last_median - first_median) / first_median, 2),
        "slope_mib_per_1000_images": round(1000 * slope, 2),
        "shader_programs_after_first_scene": int(compiled[0]),
        "shader_programs_after_warmup": int(compiled[after][0]),
        "shader_programs_end": int(compiled[-1]),
        "heap_trimmed": not args.no_trim,
        "shaders_warmed": not args.no_warm,
        "physics": "inline"
        if args.inline_physics
        else f"helper process, recycled every {RECYCLE_AFTER} scenes",
        "physics_helper_rss_mib_max_first_half": round(max(child_peaks[:half], default=0), 1),
        "physics_helper_rss_mib_max_second_half": round(max(child_peaks[half:], default=0), 1),
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "trace": [[int(d), round(r, 1), c] for d, r, c in samples[:: max(1, len(samples) // 40)]],
    }
    if not args.json:
        print(
            f"{args.num} images at {result['size']} in {seconds:.0f} s (one worker), "
            f"load {result['load_before']} -> {result['load_after']}"
        )
        print(
            f"  RSS MiB between scenes: first scene {result['rss_mib_first_scene']}, after "
            f"{args.warmup} images {warm_rss:.1f}, end {result['rss_mib_end']}, max "
            f"{result['rss_mib_max_between_scenes']}; peak at any image "
            f"{result['rss_mib_peak_any_image']}"
        )
        print(
            f"  median over the first tenth after warm-up {first_median:.1f} MiB, over the last "
            f"tenth {last_median:.1f} MiB: growth {result['median_growth_percent']}%; slope "
            f"{result['slope_mib_per_1000_images']} MiB per 1000 images"
        )
        print(
            f"  shader programs compiled: {result['shader_programs_after_first_scene']} after the "
            f"first scene, {result['shader_programs_after_warmup']} after warm-up, "
            f"{result['shader_programs_end']} at the end"
        )
        print(
            f"  physics: {result['physics']}; helper RSS max MiB: first half "
            f"{result['physics_helper_rss_mib_max_first_half']}, second half "
            f"{result['physics_helper_rss_mib_max_second_half']}"
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
