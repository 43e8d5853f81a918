#!/usr/bin/env python
"""Benchmark: end-to-end labeled images/s on the default scene vs renderer-only fps.

Both are measured in the same run on the same scenes:

* end-to-end: ``render_dataset`` (sample, physics, render, labels, PNG + JSON writes),
  with its per-stage time breakdown;
* renderer-only: the same settled scenes rendered again, the shaded pass only (the image;
  depth read only when the dataset stores it), with no label passes, labels or writes.

With ``--randomizers`` it also renders the same images once per randomizer switched on alone
(on top of a plain base: no textures, distractors, background texture or effects) and prints
each one's extra cost in ms per image against that base, measured in the same run.

``--scene`` measures another scene file the same way (e.g. ``scenes/lmo.yaml`` with
``--set objects.mesh_root=DIR``); the default is the built-in scene.

Usage: python scripts/bench_render.py [--num 48] [--width 640 --height 480] [--randomizers]
       [--scene FILE] [--set KEY=VALUE ...] [--json]
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
    parser.add_argument("--scene", default=None, help="scene file (default: the built-in one)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="scene override"
    )
    parser.add_argument(
        "--randomizers", action="store_true", help="also measure each randomizer's cost"
    )
    args = parser.parse_args()
    if args.randomizers:
        randomizer_costs(args)
        return

    from bench_growth import settle

    from simgen.assets import load_catalog
    from simgen.config import load_config
    from simgen.produce.runner import render_dataset
    from simgen.render import single_threaded_blas
    from simgen.render.pyrender_egl import PyrenderRenderer

    overrides = [
        f"num_images={args.num}",
        f"seed={args.seed}",
        f"image.width={args.width}",
        f"image.height={args.height}",
        *args.set,
    ]
    config = load_config(args.scene, overrides)
    assets = load_catalog(config)

    # Warm-up outside the timed region: imports, GL context, shader compilation.
    with tempfile.TemporaryDirectory() as tmp:
        render_dataset(load_config(args.scene, [*overrides[1:], "num_images=4"]), tmp)

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = render_dataset(config, tmp)
        e2e_seconds = time.perf_counter() - start

    views = config.views_per_scene
    scenes = -(-args.num // views)
    settled = settle(config, assets, scenes * views)
    with PyrenderRenderer(assets) as renderer, single_threaded_blas():
        renderer.render(settled[0], 0)  # warm-up
        frames = 0
        start = time.perf_counter()
        for sample in settled:
            for v in range(views):
                if frames == args.num:
                    break
                renderer.render(sample, v, depth=config.output.depth, labels=False)
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
        "scene": args.scene or "default",
        "instances": sum(summary.instances.values()),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(result))
        return
    name = args.scene or "default tabletop scene"
    print(f"{name}, {args.num} images at {result['size']}, {os.cpu_count()} cores")
    print(f"  end-to-end labeled images/s : {e2e_ips:8.2f}")
    print(f"  renderer-only fps           : {render_fps:8.2f}  (shaded pass only)")
    print(f"  end-to-end time / render time: {result['end_to_end_over_renderer_time']:7.2f}x")
    print("  per-stage ms per image (end-to-end run):")
    for key, value in stage_ms.items():
        print(f"    {key:8s} {value:8.1f}")
    print(json.dumps(result))


BASE = [
    "materials.texture=null",
    "ground.texture=null",
    "background.texture=null",
    "distractors.count=[0, 0]",
    "effects=[]",
]
"""The plain base every randomizer is added to (the built-in scene has none of these on)."""

RANDOMIZERS = {
    "object textures (p=1)": ["materials.texture={p: 1.0}"],
    "keep original colours (p=0.5)": ["materials.keep_original_p=0.5"],
    "ground texture": ["ground.texture={p: 1.0}"],
    "background composite": ["background.texture={p: 1.0}"],
    "background dome": ["background.texture={p: 1.0}", "background.mode=dome"],
    "distractors 3-6": ["distractors.count=[3, 6]"],
    "no shadows": ["lights.shadows=false"],
    "camera roll": ["camera.roll_deg=[-30, 30]"],
    "placement upright": ["placement.mode=upright"],
    "placement volume": ["placement.mode=volume"],
    "placement bin": ["placement.mode=bin", "placement.area=[0.3, 0.25]"],
    **{
        f"effect {name}": [f"effects=[{{name: {name}, p: 1.0}}]"]
        for name in (
            "rain",
            "fog",
            "snow",
            "sun_flare",
            "shadow",
            "brightness_contrast",
            "gauss_noise",
            "iso_noise",
            "motion_blur",
            "jpeg",
        )
    },
}


def randomizer_costs(args: argparse.Namespace) -> None:
    """Per-randomizer extra ms per image over the plain base, all in one run."""
    from simgen.config import load_config
    from simgen.produce.runner import render_dataset

    common = [
        f"num_images={args.num}",
        f"seed={args.seed}",
        f"image.width={args.width}",
        f"image.height={args.height}",
        *BASE,
    ]
    with tempfile.TemporaryDirectory() as tmp:  # warm-up
        render_dataset(load_config(None, [*common[1:], "num_images=4"]), tmp)

    def measure(extra: list[str]) -> tuple[float, dict[str, float]]:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            summary = render_dataset(load_config(None, [*common, *extra]), tmp)
            seconds = time.perf_counter() - start
        stages = {k: 1000 * v / args.num for k, v in summary.stage_seconds.items()}
        return 1000 * seconds / args.num, stages

    base_ms, base_stages = measure([])
    rows = {"base": {"ms_per_image": round(base_ms, 1), "extra_ms": 0.0}}
    for name, extra in RANDOMIZERS.items():
        ms, stages = measure(extra)
        rows[name] = {
            "ms_per_image": round(ms, 1),
            "extra_ms": round(ms - base_ms, 1),
            "extra_render_ms": round(stages["render"] - base_stages["render"], 1),
            "extra_effects_ms": round(stages["effects"] - base_stages["effects"], 1),
        }
    if not args.json:
        print(f"{args.num} images at {args.width}x{args.height} per row, {os.cpu_count()} cores")
        print(f"{'randomizer':34s} {'ms/image':>9s} {'extra':>8s} {'render':>8s} {'effects':>8s}")
        for name, row in rows.items():
            print(
                f"{name:34s} {row['ms_per_image']:9.1f} {row['extra_ms']:8.1f} "
                f"{row.get('extra_render_ms', 0.0):8.1f} {row.get('extra_effects_ms', 0.0):8.1f}"
            )
    print(json.dumps({"randomizers": rows}))


if __name__ == "__main__":
    main()
