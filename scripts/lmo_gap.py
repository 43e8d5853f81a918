#!/usr/bin/env python
"""The LM-O protocol of the sim-to-real check, end to end.

1. ``simgen import-bop`` on the 60 LM-O development photos (BOP ground truth -> COCO with
   visible and amodal boxes and the ignore flag);
2. split them by image id: the first 30 are the real training pool, the last 30 the test set;
3. render a domain-randomized LM-O training set with ``scenes/lmo.yaml`` (or ``--scene``);
4. ``simgen gap`` (the label-efficiency curve: real-only, synthetic→real and synthetic+real at
   each count of real photos, over seeds) scored on the last 30 photos, once per judge
   (``--backbones lite0,scratch``: the pretrained judge and the earlier from-scratch one, same
   data, same step budget);
5. ``WORK/summary.md``: the judges' curves side by side.

BOP scores 2D detection with amodal boxes, so this protocol uses ``--boxes amodal``.

Usage: python scripts/lmo_gap.py [--lmo ../shared/datasets/lmo-dev] [--work out/lmo_gap]
       [--scene scenes/lmo.yaml] [--set KEY=VALUE ...]
       [--num 800] [--workers N] [--steps 500] [--size 320] [--counts 0,5,10,30] [--seeds 3]
       [--backbones lite0,scratch] [--scratch-counts 0,30] [--reuse] [--readme]
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


def summary_table(results: dict[str, dict]) -> list[str]:
    """Markdown rows: every judge's curve (mean ± std over seeds) side by side."""
    lines = [
        "| judge | training data | real photos | seeds | AP | AP50 | AP75 |",
        "|---|---|---|---|---|---|---|",
    ]
    for judge, result in results.items():
        for row in result["curve"]:
            cells = [judge, row["train"], str(row["real_images"]), str(row["seeds"])]
            cells += [f"{row[m]:.3f} ± {row[m + '_std']:.3f}" for m in ("AP", "AP50", "AP75")]
            lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for judge, result in results.items():
        lines.append(f"- {judge}: {result['summary']} ({result['minutes']:.1f} min)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lmo", type=Path, default=ROOT.parent / "shared/datasets/lmo-dev")
    parser.add_argument("--work", type=Path, default=ROOT / "out/lmo_gap")
    parser.add_argument("--scene", type=Path, default=ROOT / "scenes/lmo.yaml")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="scene override"
    )
    parser.add_argument("--num", type=int, default=800)
    parser.add_argument(
        "--workers", type=int, default=None, help="render worker processes (default: render's)"
    )
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--counts", default="0,5,10,30")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--backbones", default="lite0,scratch")
    parser.add_argument("--no-gap", action="store_true", help="import and render only")
    parser.add_argument(
        "--val-pool",
        action="store_true",
        help="also score every model on the real training pool (gap --val): for choosing "
        "recipes on synthetic-only rows without looking at the test photos",
    )
    parser.add_argument(
        "--scratch-counts",
        default=None,
        help="counts for the scratch judge (default: --counts); it is about 20x slower",
    )
    parser.add_argument("--scratch-seeds", type=int, default=None)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep a judge's finished gap.json under WORK instead of training it again",
    )
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
    overrides = [f"objects.mesh_root={args.lmo / 'models'}", *args.set]
    simgen("render", str(args.scene), "--out", str(synthetic), "--num", str(args.num),
           *(["--workers", str(args.workers)] if args.workers else []),
           *(arg for item in overrides for arg in ("--set", item)))  # fmt: skip
    if args.no_gap:
        return
    results = {}
    for backbone in args.backbones.split(","):
        counts, seeds = args.counts, args.seeds
        if backbone == "scratch":
            counts = args.scratch_counts or counts
            seeds = args.scratch_seeds or seeds
        out = work / f"gap_{backbone}"
        if args.reuse and (out / "gap.json").is_file():
            print(f"reusing {out / 'gap.json'}")
            results[backbone] = json.loads((out / "gap.json").read_text())
            continue
        simgen("gap", "--train", str(synthetic), "--real-train", str(train_first),
               "--test", str(test_rest), "--out", str(out), "--backbone", backbone,
               "--steps", str(args.steps), "--size", str(args.size), "--boxes", "amodal",
               "--real-counts", counts, "--seeds", str(seeds),
               *(["--val", str(train_first)] if args.val_pool else []))  # fmt: skip
        results[backbone] = json.loads((out / "gap.json").read_text())
    lines = summary_table(results)
    (work / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if args.readme:
        docs = ROOT / "docs/images"
        first = work / f"gap_{args.backbones.split(',')[0]}"
        for name in ("label_efficiency.png", "per_class_ap.png", "predictions.png"):
            shutil.copy(first / name, docs / f"gap_lmo_{name}")
        print(f"copied the gap pictures to {docs}")


if __name__ == "__main__":
    main()
