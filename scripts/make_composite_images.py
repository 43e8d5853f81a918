#!/usr/bin/env python
"""Regenerate the README picture of ``simgen composite`` (docs/images/composite_mt.png).

Runs the same code as::

    simgen composite --instances ../shared/datasets/magnetic-tile-dev \\
        --backgrounds ../shared/datasets/magnetic-tile-dev/MT_Free --out DIR --num 24 --seed 3

and draws, for a few images with two or more instances, the defect-free background it
started from, the composite, and its labels (masks filled, boxes outlined) side by side.

Usage: python scripts/make_composite_images.py [--data DIR] [--out docs/images] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import cv2
import numpy as np

from simgen.composite.config import load_composite_config
from simgen.composite.run import composite_dataset
from simgen.inspect.draw import overlay, read_rgb

ROOT = Path(__file__).resolve().parents[1]
TILE = (200, 250)
"""Tile width and height in pixels (images are letterboxed into it)."""
GAP = 6


def fit(image: np.ndarray) -> np.ndarray:
    """Letterbox an (H, W, 3) image into a white TILE."""
    width, height = TILE
    scale = min(width / image.shape[1], height / image.shape[0])
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    tile = np.full((height, width, 3), 255, np.uint8)
    y, x = (height - size[1]) // 2, (width - size[0]) // 2
    tile[y : y + size[1], x : x + size[0]] = small
    return tile


def join(tiles: list[np.ndarray], axis: int) -> np.ndarray:
    """Stack tiles along ``axis`` (1: side by side, 0: below each other) with white gaps."""
    shape = list(tiles[0].shape)
    shape[axis] = GAP
    gap = np.full(shape, 255, np.uint8)
    parts = []
    for tile in tiles:
        parts += [tile, gap]
    return np.concatenate(parts[:-1], axis=axis)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=ROOT.parent / "shared/datasets/magnetic-tile-dev"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs/images")
    parser.add_argument("--keep", type=Path, help="write the dataset here instead of a temp dir")
    parser.add_argument("--examples", type=int, default=6, help="triplets, two per row")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp) / "composite"
        config = load_composite_config(None, ["num_images=24", "seed=3", "count=[2, 3]"])
        composite_dataset(config, args.data, args.data / "MT_Free", work)
        coco = json.loads((work / "annotations.json").read_text())
        names = {c["id"]: c["name"].removeprefix("MT_") for c in coco["categories"]}
        by_image: dict[int, list] = {}
        for ann in coco["annotations"]:
            by_image.setdefault(ann["image_id"], []).append(ann)
        rows = []
        for image in coco["images"]:
            anns = by_image.get(image["id"], [])
            if len(anns) < 2:
                continue
            record = json.loads((work / "records" / f"{image['id'] - 1:06d}.json").read_text())
            background = read_rgb(args.data / "MT_Free" / record["composite"]["background"])
            composite = read_rgb(work / "images" / image["file_name"])
            labelled = overlay(composite, anns, names, scale=1.6)
            rows.append(join([fit(x) for x in (background, composite, labelled)], axis=1))
            if len(rows) == args.examples:
                break
        blank = np.full_like(rows[0], 255)
        pairs = [rows[i : i + 2] for i in range(0, len(rows), 2)]
        separator = np.full((TILE[1], 4 * GAP, 3), 255, np.uint8)
        lines = [np.hstack([p[0], separator, p[1] if len(p) > 1 else blank]) for p in pairs]
        sheet = join(lines, axis=0)
        target = args.out / "composite_mt.png"
        cv2.imwrite(str(target), sheet[:, :, ::-1])
        print(f"wrote {target} ({sheet.shape[1]}x{sheet.shape[0]})")


if __name__ == "__main__":
    main()
