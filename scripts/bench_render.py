#!/usr/bin/env python
"""Benchmark: end-to-end labeled images/s on the default scene vs renderer-only fps.

Both are measured in the same run on the same scenes:

* end-to-end: ``render_dataset`` (sample, physics, render, labels, PNG + JSON writes),
  with its per-stage time breakdown;
* renderer-only: the same settled scenes rendered again (shaded RGB+depth pass and the
  instance-id pass), with no labels and no writes.

Usage: python scripts/bench_render.py [--num 48] [--width 640 --height 480] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=48, help="images (multiple of 4 is best)")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON line only")
    args = parser.parse_args()

    from simgen.assets import load_catalog
    from simgen.config import load_config
    from simgen.physics import PhysicsWorld
    from simgen.randomize import sample_scene
    from simgen.render import single_threaded_blas
    from simgen.render.pyrender_egl import PyrenderRenderer
    from simgen.runner import render_dataset

    overrides = [
        f"num_images={args.num}",
        f"seed={args.seed}",
        f"image.width={args.width}",
        f"image.height={args.height}",
    ]
    config = load_config(None, overrides)
    assets = load_catalog(config)

    # Warm-up outside the timed region: imports, GL context, shader compilation.
    with tempfile.TemporaryDirectory() as tmp:
        render_dataset(load_config(None, [*overrides[1:], "num_images=4"]), tmp)

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = render_dataset(config, tmp)
        e2e_seconds = time.perf_counter() - start

    views = config.views_per_scene
    scenes = -(-args.num // views)
    with PhysicsWorld() as world:
        masses = [e.mass for e in config.objects.catalog]
        settled = [
            world.settle(sample_scene(config, assets, j), assets, masses, config.physics).sample
            for j in range(scenes)
        ]
    with PyrenderRenderer(assets) as renderer, single_threaded_blas():
        renderer.render(settled[0], 0)  # warm-up
        frames = 0
        start = time.perf_counter()
        for sample in settled:
            for v in range(views):
                if frames == args.num:
                    break
                renderer.render(sample, v)
                frames += 1
        render_seconds = time.perf_counter() - start

    e2e_ips = args.num / e2e_seconds
    render_fps = frames / render_seconds
    stage_ms = {k: 1000 * v / args.num for k, v in summary.stage_seconds.items()}
    result = {
        "images": args.num,
        "size": f"{args.width}x{args.height}",
        "end_to_end_images_per_s": round(e2e_ips, 3),
        "renderer_only_fps": round(render_fps, 3),
        "end_to_end_over_renderer_time": round(render_fps / e2e_ips, 3),
        "pipeline_overhead_fraction": round((render_fps / e2e_ips) - 1.0, 3),
        "stage_ms_per_image": {k: round(v, 1) for k, v in stage_ms.items()},
        "instances": sum(summary.instances.values()),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"default tabletop scene, {args.num} images at {result['size']}, {os.cpu_count()} cores")
    print(f"  end-to-end labeled images/s : {e2e_ips:8.2f}")
    print(f"  renderer-only fps           : {render_fps:8.2f}  (RGB+depth pass + instance-id pass)")
    print(f"  end-to-end time / render time: {result['end_to_end_over_renderer_time']:7.2f}x")
    print("  per-stage ms per image (end-to-end run):")
    for key, value in stage_ms.items():
        print(f"    {key:8s} {value:8.1f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
