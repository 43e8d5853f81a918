#!/usr/bin/env python
"""Picture: each LM-O object in a real photo, in a render of the old recipe, in a render of
``scenes/lmo.yaml`` (``docs/images/lmo_renders_vs_photos.png``).

Photos come from the real training pool only (the first 30 dev photos by image id); renders are
made here (``--num`` images of each recipe, seed 0). For every object the crop shown is the
instance with the largest visible area among instances at least 80 % visible (any visibility
when none is), with a 15 % margin, resized to a square tile.

Usage: python scripts/make_lmo_comparison.py [--lmo ../shared/datasets/lmo-dev]
       [--work out/lmo_comparison] [--num 60] [--out docs/images/lmo_renders_vs_photos.png]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

ROOT = Path(__file__).resolve().parents[1]
TILE = 112
"""Side of one crop in the picture (pixels)."""


def simgen(*args: str) -> None:
    print("+ simgen", " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "simgen.cli", *args], check=True)


def best_crops(
    coco_path: Path, images_dir: Path, keep_ids: set[int] | None
) -> dict[str, np.ndarray]:
    """Category name -> a (TILE, TILE, 3) uint8 BGR crop of its clearest instance."""
    import cv2

    coco = json.loads(coco_path.read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    files = {i["id"]: i["file_name"] for i in coco["images"]}
    chosen: dict[str, tuple[float, dict]] = {}
    for ann in coco["annotations"]:
        if keep_ids is not None and ann["image_id"] not in keep_ids:
            continue
        visible = float(ann.get("visib_fract", 1.0))
        score = ann["area"] * (1.0 if visible >= 0.8 else 1e-3)
        name = names[ann["category_id"]]
        if name not in chosen or score > chosen[name][0]:
            chosen[name] = (score, ann)
    crops = {}
    for name, (_, ann) in chosen.items():
        image = cv2.imread(str(images_dir / files[ann["image_id"]]), cv2.IMREAD_COLOR)
        x, y, w, h = ann["bbox"]
        side = max(w, h) * 1.15
        cx, cy = x + w / 2, y + h / 2
        x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
        x1 = int(min(image.shape[1], cx + side / 2))
        y1 = int(min(image.shape[0], cy + side / 2))
        crops[name] = cv2.resize(image[y0:y1, x0:x1], (TILE, TILE), interpolation=cv2.INTER_AREA)
    return crops


def grid(rows: list[tuple[str, dict[str, np.ndarray]]], names: list[str]) -> np.ndarray:
    """Rows of tiles with a label column on the left (BGR uint8)."""
    import cv2

    label_w = 150
    blank = np.full((TILE, TILE, 3), 40, np.uint8)
    lines = []
    header = np.full((24, label_w + TILE * len(names), 3), 255, np.uint8)
    for j, name in enumerate(names):
        cv2.putText(header, name.replace("obj_0000", "obj "), (label_w + j * TILE + 20, 17),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)  # fmt: skip
    lines.append(header)
    for label, crops in rows:
        cell = np.full((TILE, label_w, 3), 255, np.uint8)
        for k, part in enumerate(label.split("\n")):
            cv2.putText(cell, part, (6, 45 + 20 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                        (0, 0, 0), 1, cv2.LINE_AA)  # fmt: skip
        lines.append(np.hstack([cell, *(crops.get(n, blank) for n in names)]))
    return np.vstack(lines)


def main() -> None:
    import cv2

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lmo", type=Path, default=ROOT.parent / "shared/datasets/lmo-dev")
    parser.add_argument("--work", type=Path, default=ROOT / "out/lmo_comparison")
    parser.add_argument("--num", type=int, default=60)
    parser.add_argument("--out", type=Path, default=ROOT / "docs/images/lmo_renders_vs_photos.png")
    args = parser.parse_args()
    real = args.work / "real"
    if not (real / "annotations.json").is_file():
        simgen("import-bop", str(args.lmo / "test"), "--models", str(args.lmo / "models"),
               "--out", str(real), "--quiet")  # fmt: skip
    coco = json.loads((real / "annotations.json").read_text())
    pool = sorted(coco["images"], key=lambda i: i["bop_im_id"])[:30]  # the real training pool
    rows = [("photo\n(training pool)", best_crops(real / "annotations.json", real / "images",
                                                 {i["id"] for i in pool}))]  # fmt: skip
    recipes = [
        ("render, recipe\nbefore", ROOT / "scripts/lmo_recipe_before.yaml"),
        ("render,\nscenes/lmo.yaml", ROOT / "scenes/lmo.yaml"),
    ]
    for k, (label, scene) in enumerate(recipes):
        out = args.work / f"render{k}"
        shutil.rmtree(out, ignore_errors=True)  # made by an earlier run, perhaps of another recipe
        simgen("render", str(scene), "--out", str(out), "--num", str(args.num), "--quiet",
               "--set", f"objects.mesh_root={args.lmo / 'models'}")  # fmt: skip
        rows.append((label, best_crops(out / "annotations.json", out / "images", None)))
    names = sorted(c["name"] for c in coco["categories"])
    picture = grid(rows, names)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), picture)
    print(f"wrote {args.out} ({picture.shape[1]}x{picture.shape[0]})")


if __name__ == "__main__":
    main()
