#!/usr/bin/env python
"""The LM-O protocol of the sim-to-real check, end to end.

1. ``simgen import-bop`` on the 60 LM-O development photos (BOP ground truth -> COCO with
   visible and amodal boxes and the ignore flag);
2. split them by image id: the first 30 are the real training set, the last 30 the test set;
3. render a domain-randomized LM-O training set with ``scenes/lmo.yaml``;
4. ``simgen gap`` with all rows (synthetic, real, synthetic+real, synthetic→real), scored on the
   last 30 photos, and a synthetic-only run scored on all 60.

BOP scores 2D detection with amodal boxes, so this protocol uses ``--boxes amodal``.

Usage: python scripts/lmo_gap.py [--lmo ../shared/datasets/lmo-dev] [--work out/lmo_gap]
       [--num 800] [--minutes 5] [--size 320] [--readme]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

ROOT = Path(__file__).resolve().parents[1]


def simgen(*args: str) -> None:
    print("+ simgen", " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "simgen.cli", *args], check=True)


def split(coco_path: Path, first: int) -> tuple[Path, Path]:
    """Write ``train_first.json`` (first ``first`` images by id) and ``test_rest.json``."""
    coco = json.loads(coco_path.read_text())
    ids = sorted(img["bop_im_id"] for img in coco["images"])
    keep_train = set(ids[:first])
    parts = {}
    for name, wanted in (("train_first", True), ("test_rest", False)):
        images = [img for img in coco["images"] if (img["bop_im_id"] in keep_train) == wanted]
        image_ids = {img["id"] for img in images}
        part = {
            **coco,
            "images": images,
            "annotations": [a for a in coco["annotations"] if a["image_id"] in image_ids],
        }
        path = coco_path.parent / f"{name}.json"
        path.write_text(json.dumps(part))
        parts[name] = path
    return parts["train_first"], parts["test_rest"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lmo", type=Path, default=ROOT.parent / "shared/datasets/lmo-dev")
    parser.add_argument("--work", type=Path, default=ROOT / "out/lmo_gap")
    parser.add_argument("--num", type=int, default=800)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument(
        "--readme", action="store_true", help="copy the pictures to docs/images for the README"
    )
    args = parser.parse_args()
    work = args.work
    real = work / "real"
    if not (real / "annotations.json").is_file():
        simgen("import-bop", str(args.lmo / "test"), "--models", str(args.lmo / "models"),
               "--out", str(real), "--quiet")  # fmt: skip
    train_first, test_rest = split(real / "annotations.json", 30)
    synthetic = work / "synthetic"
    simgen("render", str(ROOT / "scenes/lmo.yaml"), "--out", str(synthetic),
           "--num", str(args.num), "--set", f"objects.mesh_root={args.lmo / 'models'}")  # fmt: skip
    common = ["--minutes", str(args.minutes), "--size", str(args.size), "--boxes", "amodal"]
    simgen("gap", "--train", str(synthetic), "--real-train", str(train_first),
           "--test", str(test_rest), "--out", str(work / "gap_last30"), *common)  # fmt: skip
    simgen("gap", "--train", str(synthetic), "--test", str(real / "annotations.json"),
           "--out", str(work / "gap_all60"), *common)  # fmt: skip
    if args.readme:
        docs = ROOT / "docs/images"
        for name in ("per_class_ap.png", "pr_curves.png", "predictions.png"):
            shutil.copy(work / "gap_last30" / name, docs / f"gap_lmo_{name}")
        print(f"copied the gap pictures to {docs}")


if __name__ == "__main__":
    main()
