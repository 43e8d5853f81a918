#!/usr/bin/env python
"""Regenerate the README pictures from simgen's own output.

Renders the built-in default scene (seed 0) and writes ``docs/images/tabletop.png``: rendered
images, the same images with their COCO labels drawn from ``annotations.json`` (masks decoded
from the RLE, visible boxes solid, amodal boxes thin, ignored instances in red; drawn by
:func:`simgen.inspect.draw.overlay`, as ``simgen preview`` draws them), and depth.

It also renders every scene of the library (``scenes/*.yaml``, seed 0) and writes
``docs/images/scene_NAME.png``: four images, and below them the same images with their labels.

Usage: python scripts/make_readme_images.py [--out docs/images]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import cv2
import numpy as np

from simgen.config import load_config
from simgen.inspect.draw import overlay, read_rgb
from simgen.io import encode_png
from simgen.produce.runner import render_dataset

COLUMNS = 4


def depth_view(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB colour map of a uint16 depth PNG (near is bright, empty is black)."""
    depth = cv2.imread(str(path), cv2.IMREAD_UNCHANGED).astype(np.float32)
    valid = depth > 0
    lo, hi = np.percentile(depth[valid], [1, 99]) if valid.any() else (0.0, 1.0)
    scaled = np.clip((depth - lo) / max(hi - lo, 1.0), 0, 1)
    coloured = cv2.applyColorMap((255 * (1 - scaled)).astype(np.uint8), cv2.COLORMAP_VIRIDIS)
    coloured[~valid] = 0
    return np.ascontiguousarray(coloured[:, :, ::-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument(
        "--scenes", nargs="*", default=None, help="only these library scenes (names), no tabletop"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.scenes:
        for name in args.scenes:
            scene = Path("scenes") / f"{name}.yaml"
            scene_sheet(scene, args.out / f"scene_{scene.stem}.png")
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        config = load_config(None, ["num_images=8", "seed=0", "output.depth=true"])
        render_dataset(config, data)
        coco = json.loads((data / "annotations.json").read_text())
        names = {c["id"]: c["name"] for c in coco["categories"]}
        picks = [0, 2, 5, 7][:COLUMNS]
        rows = [[], [], []]
        for index in picks:
            image_id = index + 1
            image = read_rgb(data / "images" / f"{index:06d}.png")
            anns = [a for a in coco["annotations"] if a["image_id"] == image_id]
            rows[0].append(image)
            rows[1].append(overlay(image, anns, names))
            rows[2].append(depth_view(data / "depth" / f"{index:06d}.png"))
        sheet = np.vstack([np.hstack(row) for row in rows])
        sheet = cv2.resize(sheet, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        target = args.out / "tabletop.png"
        target.write_bytes(encode_png(sheet))
        print(f"wrote {target} ({sheet.shape[1]}x{sheet.shape[0]})")
    for scene in sorted(Path("scenes").glob("*.yaml")):
        scene_sheet(scene, args.out / f"scene_{scene.stem}.png")


def scene_sheet(scene: Path, target: Path) -> None:
    """Four images of a library scene (two settled scenes, two views each) and their labels."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        config = load_config(scene, ["num_images=4", "views_per_scene=2", "seed=0"])
        render_dataset(config, data, source=scene)
        coco = json.loads((data / "annotations.json").read_text())
        names = {c["id"]: c["name"] for c in coco["categories"]}
        images = [read_rgb(data / "images" / f"{i:06d}.png") for i in range(4)]
        labeled = [
            overlay(image, [a for a in coco["annotations"] if a["image_id"] == i + 1], names)
            for i, image in enumerate(images)
        ]
        if images[0].shape[1] > 2 * images[0].shape[0]:  # wide frames (KITTI): two columns
            pairs = [np.hstack([images[i], labeled[i]]) for i in range(4)]
            sheet = np.vstack(pairs)
            scale = 0.3
        else:
            sheet = np.vstack([np.hstack(images), np.hstack(labeled)])
            scale = 0.4
        sheet = cv2.resize(sheet, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        target.write_bytes(encode_png(sheet))
        print(f"wrote {target} ({sheet.shape[1]}x{sheet.shape[0]})")


if __name__ == "__main__":
    main()
