#!/usr/bin/env python
"""Regenerate the README pictures from simgen's own output.

Renders the built-in default scene (seed 0) and writes ``docs/images/tabletop.png``: rendered
images, the same images with their COCO labels drawn from ``annotations.json`` (masks decoded
from the RLE, visible boxes solid, amodal boxes thin, ignored instances in red), and depth.

Usage: python scripts/make_readme_images.py [--out docs/images]
"""

from __future__ import annotations

import argparse
import colorsys
import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from simgen.config import load_config
from simgen.runner import render_dataset

COLUMNS = 4


def _colour(k: int) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb((k * 0.61803) % 1.0, 0.85, 1.0)
    return int(255 * b), int(255 * g), int(255 * r)


def overlay(image: np.ndarray, annotations: list[dict], names: dict[int, str]) -> np.ndarray:
    """Draw masks, visible (thick) and amodal (thin) boxes and names on a BGR image."""
    out = image.copy()
    for k, ann in enumerate(annotations):
        rle = ann["segmentation"]
        mask = mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()}) > 0
        colour = (0, 0, 255) if ann["ignore"] else _colour(k)
        out[mask] = (0.45 * out[mask] + 0.55 * np.array(colour)).astype(np.uint8)
    for k, ann in enumerate(annotations):
        colour = (0, 0, 255) if ann["ignore"] else _colour(k)
        x, y, w, h = ann["bbox_amodal"]
        cv2.rectangle(out, (x, y), (x + w - 1, y + h - 1), colour, 1)
        x, y, w, h = ann["bbox"]
        cv2.rectangle(out, (x, y), (x + w - 1, y + h - 1), colour, 2)
        label = names[ann["category_id"]] + (" (ignore)" if ann["ignore"] else "")
        cv2.putText(out, label, (x, max(12, y - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3)
        cv2.putText(out, label, (x, max(12, y - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1)
    return out


def depth_view(path: Path) -> np.ndarray:
    depth = cv2.imread(str(path), cv2.IMREAD_UNCHANGED).astype(np.float32)
    valid = depth > 0
    lo, hi = np.percentile(depth[valid], [1, 99]) if valid.any() else (0.0, 1.0)
    scaled = np.clip((depth - lo) / max(hi - lo, 1.0), 0, 1)
    coloured = cv2.applyColorMap((255 * (1 - scaled)).astype(np.uint8), cv2.COLORMAP_VIRIDIS)
    coloured[~valid] = 0
    return coloured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
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
            image = cv2.imread(str(data / "images" / f"{index:06d}.png"))
            anns = [a for a in coco["annotations"] if a["image_id"] == image_id]
            rows[0].append(image)
            rows[1].append(overlay(image, anns, names))
            rows[2].append(depth_view(data / "depth" / f"{index:06d}.png"))
        sheet = np.vstack([np.hstack(row) for row in rows])
        sheet = cv2.resize(sheet, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        target = args.out / "tabletop.png"
        cv2.imwrite(str(target), sheet)
        print(f"wrote {target} ({sheet.shape[1]}x{sheet.shape[0]})")


if __name__ == "__main__":
    main()
