#!/usr/bin/env python
"""Picture: renders of ``scenes/kitti.yaml`` beside KITTI photos, with their boxes
(``out/kitti_renders_vs_photos.png``). KITTI is CC BY-NC-SA: the picture holds KITTI frames,
so it is written outside the repository and never committed.

Left column: KITTI development frames from the real training pool (the first 25 frames) with
their Car, Pedestrian and Cyclist boxes; right column: renders of the scene (seed 0, made here)
with theirs. Both at KITTI's 1242x375, shown at half size.

Usage: python scripts/make_kitti_comparison.py [--kitti ../shared/datasets/kitti-dev]
       [--rows 4] [--out out/kitti_renders_vs_photos.png]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import cv2
import numpy as np

from simgen.config import load_config
from simgen.produce.runner import load_records, render_dataset

ROOT = Path(__file__).resolve().parents[1]
COLOURS = {"Car": (60, 200, 60), "Pedestrian": (60, 60, 230), "Cyclist": (230, 160, 40)}
"""BGR box colour per class."""
SIZE = (1242, 375)


def draw(image: np.ndarray, boxes: list[tuple[str, float, float, float, float]]) -> np.ndarray:
    """``image`` (H, W, 3) BGR resized to KITTI's size with (class, left, top, right, bottom)
    boxes drawn."""
    scale_x, scale_y = SIZE[0] / image.shape[1], SIZE[1] / image.shape[0]
    out = cv2.resize(image, SIZE, interpolation=cv2.INTER_AREA)
    for name, left, top, right, bottom in boxes:
        p0 = (round(left * scale_x), round(top * scale_y))
        p1 = (round(right * scale_x), round(bottom * scale_y))
        cv2.rectangle(out, p0, p1, COLOURS[name], 2)
    return out


def photo_boxes(label: Path) -> list[tuple[str, float, float, float, float]]:
    boxes = []
    for line in label.read_text().splitlines():
        fields = line.split()
        if fields and fields[0] in COLOURS:
            left, top, right, bottom = (float(v) for v in fields[4:8])
            boxes.append((fields[0], left, top, right, bottom))
    return boxes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kitti", type=Path, default=ROOT.parent / "shared/datasets/kitti-dev")
    parser.add_argument("--rows", type=int, default=4)
    parser.add_argument("--out", type=Path, default=ROOT / "out/kitti_renders_vs_photos.png")
    args = parser.parse_args()
    frames = sorted((args.kitti / "image_2").glob("*.png"))[:25]
    # evenly spread over the training pool
    picks = [frames[round(i * (len(frames) - 1) / max(args.rows - 1, 1))] for i in range(args.rows)]
    photos = [
        draw(cv2.imread(str(p)), photo_boxes(args.kitti / "label_2" / f"{p.stem}.txt"))
        for p in picks
    ]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        config = load_config(ROOT / "scenes/kitti.yaml", [f"num_images={args.rows}", "seed=0"])
        render_dataset(config, out)
        renders = []
        for record in load_records(out, args.rows):
            image = cv2.imread(str(out / "images" / record["image"]["file_name"]))
            boxes = []
            for ann in record["annotations"]:
                if ann["ignore"]:
                    continue
                x, y, w, h = ann["bbox_amodal"]
                boxes.append((ann["category"], x, y, x + w - 1, y + h - 1))
            renders.append(draw(image, boxes))
    rows = [np.hstack([photo, render]) for photo, render in zip(photos, renders, strict=True)]
    sheet = cv2.resize(np.vstack(rows), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), sheet)
    print(f"wrote {args.out} ({sheet.shape[1]}x{sheet.shape[0]})")


if __name__ == "__main__":
    main()
