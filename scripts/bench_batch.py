#!/usr/bin/env python
"""Benchmark: batch rendering with 1..W workers vs the renderer alone, in the same run.

On the default tabletop scene (shadows, visible masks, amodal labels) it measures:

* renderer-only fps: the dataset's settled scenes rendered again in this process, the shaded
  pass only (the image; depth read only when the dataset stores it), no label passes, no
  labels, no writes: the baseline, measured before and after the runs and averaged;
* end-to-end labeled images/s of ``render_dataset`` for each run (worker count, physics in the
  worker or in a helper process), both over the whole call (worker start-up included) and in
  steady state (from the first finished image to the last), with the per-stage time per image
  summed over workers (with a physics helper, ``physics`` is the time spent waiting for it);
* pipeline overhead = end-to-end time per image / renderer-only time per image - 1.

The machine's load average is printed before and after: other work on the machine slows
every figure.

Usage: python scripts/bench_batch.py [--num 48] [--runs 1i,1h,2h] [--width 640 --height 480]
       [--png-compression 3] [--json]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import tempfile
import time

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def renderer_only(config, assets) -> tuple[float, int]:
    """Seconds to render every image of ``config`` with the renderer alone, and the count."""
    from simgen.physics import PhysicsWorld
    from simgen.randomize import sample_scene
    from simgen.render import single_threaded_blas
    from simgen.render.pyrender_egl import PyrenderRenderer

    views = config.views_per_scene
    scenes = -(-config.num_images // views)
    masses = [e.mass for e in config.objects.catalog]
    with PhysicsWorld() as world:
        settled = [
            world.settle(sample_scene(config, assets, j), assets, masses, config.physics).sample
            for j in range(scenes)
        ]
    frames = 0
    with PyrenderRenderer(assets) as renderer, single_threaded_blas():
        renderer.render(settled[0], 0)  # warm-up: GL context and shaders
        start = time.perf_counter()
        for sample in settled:
            for view in range(views):
                if frames < config.num_images:
                    renderer.render(sample, view, depth=config.output.depth, labels=False)
                    frames += 1
        seconds = time.perf_counter() - start
    return seconds, frames


def end_to_end(config, run: str) -> dict:
    """One ``render_dataset`` run into a fresh folder; ``run`` is the worker count, with an
    ``h`` suffix for physics in a helper process, ``i`` for physics inside the worker."""
    from simgen.runner import render_dataset

    workers = int(run.rstrip("hi"))
    physics_process = {"h": True, "i": False}.get(run[-1])
    stamps: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = render_dataset(
            config,
            tmp,
            workers=workers,
            physics_process=physics_process,
            progress=lambda done, total: stamps.append(time.perf_counter()),
        )
        seconds = time.perf_counter() - start
    finished = stamps[1:]  # the first call reports the starting point
    steady = (len(finished) - 1) / (finished[-1] - finished[0]) if len(finished) > 1 else 0.0
    return {
        "run": run,
        "workers": workers,
        "physics": "helper process"
        if physics_process or (physics_process is None and workers > 1)
        else "in worker",
        "seconds": round(seconds, 2),
        "images_per_s": round(summary.rendered / seconds, 3),
        "steady_images_per_s": round(steady, 3),
        "first_image_after_s": round(finished[0] - start, 2) if finished else None,
        "stage_ms_per_image": {
            k: round(1000 * v / summary.rendered, 1) for k, v in summary.stage_seconds.items()
        },
        "instances": sum(summary.instances.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=48, help="images per run")
    parser.add_argument(
        "--runs",
        default="1i,1h,2h",
        help="comma-separated runs: worker count + h (physics in a helper process, as "
        "`simgen render` does) or i (physics inside the worker)",
    )
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--png-compression", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="print one JSON line only")
    args = parser.parse_args()

    from simgen.assets import load_catalog
    from simgen.config import load_config
    from simgen.runner import render_dataset

    overrides = [
        f"num_images={args.num}",
        f"seed={args.seed}",
        f"image.width={args.width}",
        f"image.height={args.height}",
    ]
    if args.png_compression is not None:
        overrides.append(f"output.png_compression={args.png_compression}")
    config = load_config(None, overrides)
    assets = load_catalog(config)
    load_before = load_average()
    with tempfile.TemporaryDirectory() as tmp:  # warm-up: imports, GL, shader cache
        render_dataset(load_config(None, [*overrides[1:], "num_images=4"]), tmp)

    # The baseline is measured before and after the runs and averaged: on a shared VM the
    # renderer's speed drifts by 10-20 % between minutes.
    before_seconds, frames = renderer_only(config, assets)
    runs = [end_to_end(config, run.strip()) for run in args.runs.split(",")]
    after_seconds, _ = renderer_only(config, assets)
    render_ms = 1000 * (before_seconds + after_seconds) / (2 * frames)
    for run in runs:
        run["overhead_vs_renderer_only"] = round(1000 / run["images_per_s"] / render_ms - 1, 3)
        steady = run["steady_images_per_s"]
        run["steady_overhead_vs_renderer_only"] = (
            round(1000 / steady / render_ms - 1, 3) if steady else None
        )
    result = {
        "date": datetime.date.today().isoformat(),
        "images": args.num,
        "size": f"{args.width}x{args.height}",
        "png_compression": config.output.png_compression,
        "renderer_only_fps": round(1000 / render_ms, 3),
        "renderer_only_ms": round(render_ms, 1),
        "renderer_only_fps_before_after": [
            round(frames / before_seconds, 3),
            round(frames / after_seconds, 3),
        ],
        "runs": runs,
        "load_before": load_before,
        "load_after": load_average(),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"default tabletop scene, {args.num} images at {result['size']} per run, "
        f"{os.cpu_count()} cores, load {load_before} -> {result['load_after']}"
    )
    before, after = result["renderer_only_fps_before_after"]
    print(
        f"  renderer-only (this process): {result['renderer_only_fps']:6.2f} fps "
        f"(mean of {before:.2f} before and {after:.2f} after the runs)"
    )
    for run in runs:
        print(
            f"  {run['workers']} worker(s), physics {run['physics']}: "
            f"{run['images_per_s']:6.2f} images/s overall, "
            f"{run['steady_images_per_s']:6.2f} steady; overhead vs renderer-only "
            f"{100 * run['overhead_vs_renderer_only']:+.0f}% overall, "
            f"{100 * (run['steady_overhead_vs_renderer_only'] or 0):+.0f}% steady"
        )
        stages = ", ".join(f"{k} {v}" for k, v in run["stage_ms_per_image"].items())
        print(f"      ms per image (summed over workers): {stages}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
