#!/usr/bin/env python
"""Benchmark: how a run's cost grows with object count and image size (the cost-growth table).

For each row of a grid (objects per scene x image size) on the built-in scene (distractors off,
``objects.count`` fixed, the placement area grown with the count so the objects still fit):

* end-to-end: ``render_dataset`` with ``--workers`` processes, start-up included as a user
  sees it: labeled images/s, and the per-stage milliseconds per image (summed over workers,
  start-up excluded);
* renderer only: the same settled scenes rendered again in this process, the shaded pass and
  the label pass timed separately (ms per image).

``--save-scenes FILE`` also pickles every row's settled scenes and asset catalog, and
``--scenes FILE`` renders such a file renderer-only (no physics, no pybullet needed): that is how
the renderer is measured on a machine without the project's physics installed, such as a GPU
machine, on exactly the scenes measured here.

``--scene FILE --objects 0`` measures another scene with its own objects (e.g.
``scenes/lmo.yaml --set objects.mesh_root=DIR``).

Usage: python scripts/bench_growth.py [--num 24] [--objects 5 20 50] [--scene F] [--set K=V]
       [--sizes 640x480 1280x720 1920x1080] [--workers 2] [--save-scenes FILE] [--json]
       python scripts/bench_growth.py --scenes FILE [--json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import pickle
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

KEEP = 4
"""Images per row stored by ``--keep-images`` (first view of the first scenes)."""

BASE_AREA = 0.35
"""Side in metres of the built-in scene's placement area (4-9 objects)."""


def row_overrides(objects: int, width: int, height: int, num: int) -> list[str]:
    """Scene overrides of one grid row (``objects`` 0: the scene's own objects, distractors
    and placement)."""
    size = [f"num_images={num}", f"image.width={width}", f"image.height={height}"]
    if objects == 0:
        return size
    side = round(BASE_AREA * max(1.0, math.sqrt(objects / 6.5)), 3)
    return [
        *size,
        f"objects.count=[{objects}, {objects}]",
        f"placement.area=[{side}, {side}]",
        "distractors.count=[0, 0]",
    ]


def renderer_only(
    assets, samples, views: int, num: int, depth: bool, keep: dict | None = None
) -> dict[str, float]:
    """Shaded-pass and label-pass ms per image over ``num`` views of ``samples``; with
    ``keep``, the first view of each sample's image and instance map are stored in it."""
    from simgen.render import single_threaded_blas
    from simgen.render.pyrender_egl import PyrenderRenderer

    with PyrenderRenderer(assets) as renderer, single_threaded_blas():
        for k, sample in enumerate(samples):  # warm-up: context, shader variants, mesh uploads
            output = renderer.render(sample, 0)
            if keep is not None and k < KEEP:
                keep[f"rgb{k}"], keep[f"ids{k}"] = output.rgb, output.instance_ids.astype("u1")
        colour = labels = 0.0
        frames = 0
        for sample in samples:
            for v in range(views):
                if frames == num:
                    break
                start = time.perf_counter()
                renderer.render(sample, v, depth=depth, labels=False)
                middle = time.perf_counter()
                renderer.render(sample, v, color=False, depth=False, labels=True)
                colour += middle - start
                labels += time.perf_counter() - middle
                frames += 1
    return {
        "shaded_ms": round(1000 * colour / frames, 2),
        "label_ms": round(1000 * labels / frames, 2),
        "renderer_images_per_s": round(frames / (colour + labels), 2),
    }


def gl_renderer_name() -> str:
    """The OpenGL renderer string of an EGL context (e.g. llvmpipe or the GPU's name)."""
    try:
        import pyrender
        from OpenGL import GL

        offscreen = pyrender.OffscreenRenderer(8, 8)
        name = GL.glGetString(GL.GL_RENDERER).decode()
        offscreen.delete()
        return name
    except Exception as error:  # the name is informative only
        return f"unknown ({error})"


def open_maybe_gzip(path: Path, mode: str):
    """``path`` opened for binary reading or writing, through gzip when it ends in ``.gz``."""
    return gzip.open(path, mode) if path.suffix == ".gz" else open(path, mode)


def settle(config, assets, num: int) -> list:
    """The settled samples of the scenes holding the first ``num`` images of ``config``."""
    from simgen.physics.world import PhysicsWorld
    from simgen.produce.physics_helper import catalog_masses
    from simgen.randomize import sample_scene

    with PhysicsWorld() as world:
        masses = catalog_masses(config)
        return [
            world.settle(sample_scene(config, assets, j), assets, masses, config.physics).sample
            for j in range(-(-num // config.views_per_scene))
        ]


def measure_grid(args: argparse.Namespace) -> list[dict]:
    from simgen.assets import load_catalog
    from simgen.config import load_config
    from simgen.produce.runner import render_dataset

    rows, saved, assets = [], [], None
    if not args.save_only:
        with tempfile.TemporaryDirectory() as tmp:  # warm-up: imports, first context
            overrides = [*row_overrides(5, 640, 480, 4), *args.set]
            render_dataset(load_config(args.scene, overrides), tmp)
    for objects in args.objects:
        for size in args.sizes:
            width, height = (int(v) for v in size.split("x"))
            config = load_config(
                args.scene, [*row_overrides(objects, width, height, args.num), *args.set]
            )
            assets = load_catalog(config)
            samples = settle(config, assets, args.num)
            saved.append(
                {
                    "objects": objects,
                    "size": size,
                    "views": config.views_per_scene,
                    "num": args.num,
                    "depth": config.output.depth,
                    "samples": samples,
                }
            )
            if args.save_only:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                summary = render_dataset(config, tmp, workers=args.workers)
                seconds = time.perf_counter() - t0
            row = {
                "objects": objects,
                "size": size,
                "images": args.num,
                "images_per_s": round(args.num / seconds, 2),
                "stage_ms": {
                    k: round(1000 * v / args.num, 1) for k, v in summary.stage_seconds.items()
                },
                **renderer_only(
                    assets, samples, config.views_per_scene, args.num, config.output.depth
                ),
            }
            rows.append(row)
            if not args.json:
                print(format_row(row), flush=True)
    if args.save_scenes:
        with open_maybe_gzip(args.save_scenes, "wb") as handle:
            pickle.dump({"assets": assets, "rows": saved}, handle)
    return rows


def measure_saved(path: Path, json_only: bool, keep_images: Path | None = None) -> list[dict]:
    import numpy as np

    with open_maybe_gzip(path, "rb") as handle:
        saved = pickle.load(handle)
    rows, kept = [], {}
    for entry in saved["rows"]:
        keep: dict | None = {} if keep_images is not None else None
        row = {
            "objects": entry["objects"],
            "size": entry["size"],
            "images": entry["num"],
            **renderer_only(
                saved["assets"],
                entry["samples"],
                entry["views"],
                entry["num"],
                entry["depth"],
                keep,
            ),
        }
        for key, value in (keep or {}).items():
            kept[f"{entry['objects']}_{entry['size']}_{key}"] = value
        rows.append(row)
        if not json_only:
            print(format_row(row), flush=True)
    if keep_images is not None:
        np.savez_compressed(keep_images, **kept)
    return rows


def format_row(row: dict) -> str:
    end_to_end = (
        f"{row['images_per_s']:7.2f} img/s, ms: "
        + " ".join(f"{k} {v:6.1f}" for k, v in row["stage_ms"].items())
        if "images_per_s" in row
        else "(renderer only)"
    )
    return (
        f"{row['objects']:3d} objects {row['size']:>9s}: {end_to_end} | renderer: shaded "
        f"{row['shaded_ms']:6.1f} ms, labels {row['label_ms']:6.1f} ms, "
        f"{row['renderer_images_per_s']:6.1f} img/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=24, help="images per row")
    parser.add_argument(
        "--objects",
        type=int,
        nargs="+",
        default=[5, 20, 50],
        help="objects per scene (0: the scene's own count)",
    )
    parser.add_argument("--scene", default=None, help="scene file (default: the built-in one)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--sizes", nargs="+", default=["640x480", "1280x720", "1920x1080"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--save-scenes", type=Path, default=None)
    parser.add_argument(
        "--save-only", action="store_true", help="with --save-scenes: settle and save, no timing"
    )
    parser.add_argument("--scenes", type=Path, default=None, help="renderer-only on a saved file")
    parser.add_argument(
        "--keep-images",
        type=Path,
        default=None,
        help="with --scenes: save the first images and instance maps of each row (.npz), to "
        "compare renderers",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line only")
    args = parser.parse_args()
    gl_name = gl_renderer_name()
    if not args.json:
        print(f"{os.cpu_count()} cores, OpenGL renderer: {gl_name}", flush=True)
    if args.scenes:
        rows = measure_saved(args.scenes, args.json, args.keep_images)
    else:
        rows = measure_grid(args)
    print(
        json.dumps(
            {
                "gl_renderer": gl_name,
                "cores": os.cpu_count(),
                "cpu": platform.processor() or platform.machine(),
                "rows": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
