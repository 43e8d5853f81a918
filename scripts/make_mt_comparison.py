#!/usr/bin/env python
"""Picture: magnetic-tile defects in real photos beside composites of the same class
(``docs/images/mt_composites_vs_photos.png``).

One row per defect class: ``--per-class`` real instances (from the real training images only,
a mask folder), then as many from each composite dataset given (``--composites NAME=DIR``,
e.g. the default config and the thin-defect recipe). Each tile is a square crop around the
instance (three times its larger side, at least 48 px, clipped to the image) resized to
``TILE`` px, with no outline drawn: what a detector sees. Instances are picked with a fixed seed
among those of at least ``MIN_AREA`` pixels.

Usage: python scripts/make_mt_comparison.py --real out/mt_ablation/inner/split/train
       --composites "default config=out/mt_ablation/before/composites"
       --composites "thin-defect recipe=out/mt_ablation/mix/composites" [--per-class 3]
       [--out docs/images/mt_composites_vs_photos.png]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TILE = 96
"""Side of one crop in the picture (pixels)."""
MIN_AREA = 20
"""Smallest instance (pixels) shown."""


def load(source: Path) -> tuple[dict, Path]:
    """``(coco, images folder)`` of a simgen dataset folder or a mask folder."""
    from simgen.formats.mask_folder import mask_folder_to_coco

    if (source / "annotations.json").is_file():
        return json.loads((source / "annotations.json").read_text()), source / "images"
    coco, _ = mask_folder_to_coco(source)
    return coco, source


def crops(source: Path, per_class: int, seed: int) -> dict[str, list[np.ndarray]]:
    """Class name (``MT_`` prefix dropped) -> ``per_class`` (TILE, TILE) uint8 gray crops."""
    import cv2

    coco, images = load(source)
    names = {c["id"]: c["name"].removeprefix("MT_") for c in coco["categories"]}
    files = {i["id"]: i["file_name"] for i in coco["images"]}
    by_class: dict[str, list[dict]] = {}
    for ann in coco["annotations"]:
        if ann.get("area", 0) >= MIN_AREA and not ann.get("ignore", False):
            by_class.setdefault(names[ann["category_id"]], []).append(ann)
    rng = np.random.default_rng(seed)
    out: dict[str, list[np.ndarray]] = {}
    for name, anns in sorted(by_class.items()):
        picks = rng.choice(len(anns), size=min(per_class, len(anns)), replace=False)
        tiles = []
        for k in sorted(int(p) for p in picks):
            ann = anns[k]
            gray = cv2.imread(str(images / files[ann["image_id"]]), cv2.IMREAD_GRAYSCALE)
            x, y, w, h = ann["bbox"]
            side = max(48.0, 3.0 * max(w, h))
            cx, cy = x + w / 2, y + h / 2
            height, width = gray.shape
            x0, y0 = int(max(cx - side / 2, 0)), int(max(cy - side / 2, 0))
            x1, y1 = int(min(cx + side / 2, width)), int(min(cy + side / 2, height))
            crop = gray[y0:y1, x0:x1]
            scale = TILE / max(crop.shape)
            resized = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            tile = np.full((TILE, TILE), 255, np.uint8)
            tile[: resized.shape[0], : resized.shape[1]] = resized
            tiles.append(tile)
        out[name] = tiles
    return out


def main() -> None:
    import cv2

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, required=True, help="mask folder of real images")
    parser.add_argument("--composites", action="append", default=[], help="NAME=DIR")
    parser.add_argument("--per-class", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "docs/images/mt_composites_vs_photos.png"
    )
    args = parser.parse_args()
    columns = [("real photos", crops(args.real, args.per_class, args.seed))]
    for item in args.composites:
        name, _, folder = item.partition("=")
        columns.append((name, crops(Path(folder), args.per_class, args.seed)))
    classes = list(columns[0][1])
    gap, label_w, head_h = 8, 80, 22
    width = label_w + len(columns) * (args.per_class * (TILE + 2) + gap)
    height = head_h + len(classes) * (TILE + 4)
    canvas = np.full((height, width), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    for c, (title, tiles) in enumerate(columns):
        x0 = label_w + c * (args.per_class * (TILE + 2) + gap)
        cv2.putText(canvas, title, (x0, 15), font, 0.45, 0, 1, cv2.LINE_AA)
        for r, name in enumerate(classes):
            y0 = head_h + r * (TILE + 4)
            if c == 0:
                cv2.putText(canvas, name, (4, y0 + TILE // 2), font, 0.45, 0, 1, cv2.LINE_AA)
            for k, tile in enumerate(tiles.get(name, [])):
                x = x0 + k * (TILE + 2)
                canvas[y0 : y0 + TILE, x : x + TILE] = tile
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), canvas)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
