#!/usr/bin/env python
"""Which real cars does a synthetic-only judge miss? A diagnosis on the KITTI training pool.

Trains the judge's synthetic-only model as ``simgen gap`` does (frozen EfficientNet-Lite0
features of one augmented copy per render, the default head, 500 steps of 16, learning rate
0.01; the cache's augmentation is seeded here, so the model is one like gap's, not the same
one) and scores it on the pool frames (the first 25 of ``scripts/kitti_gap.py``, never the test
frames), car by car: each car that the pool's difficulty level scores, bucketed by box height
and by KITTI's occlusion level, is

- found: a Car detection scoring at least ``--score`` overlaps it with IoU >= 0.5;
- loose: the best such detection overlaps it with IoU 0.3-0.5 (a box in the wrong place or of
  the wrong size);

and for each bucket the median ratio of that best detection's height to the car's. Detections
scoring at least ``--score`` that overlap no car with IoU >= 0.5 are counted as false positives,
split by whether they overlap a car at all (IoU >= 0.1: a fragment or a misplaced box).

Last, how many cars are big and ahead: the share of all labelled cars (ignored ones too) over
60 px tall, and of those with the box centre in the middle of the frame (x 400-900 px), in all
of ``--train``'s renders and in the pool.

``--control K`` scores the same model the same way on K renders it did not train on (the
``--train`` renders after the first ``--num``; a car counts when it is more than 25 px tall and
at least half visible, as moderate's height and occlusion rules roughly): what it does on its
own domain, beside the photographs.

Usage: python scripts/kitti_pool_misses.py [--train out/kitti_gap_3k/parked/synthetic]
       [--pool out/kitti_gap_3k/real_moderate/train_first.json] [--num 1000] [--size 1024x320]
       [--steps 500] [--seed 0] [--score 0.3] [--no-flip] [--control 100]

Reads what ``scripts/kitti_gap.py --rows parked --difficulty moderate`` wrote.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HEIGHTS = ((25, 40), (40, 60), (60, 100), (100, 10_000))
"""Box-height buckets in original pixels (KITTI moderate scores cars above 25 px)."""


def box_iou(coco_box: list[float], xyxy: np.ndarray) -> float:
    """IoU of a COCO ``[x, y, w, h]`` box and an ``(x0, y0, x1, y1)`` box (pycocotools')."""
    from pycocotools import mask as mask_utils

    x0, y0, x1, y1 = (float(v) for v in xyxy)
    return float(mask_utils.iou([[x0, y0, x1 - x0, y1 - y0]], [list(coco_box)], [0])[0, 0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=ROOT / "out/kitti_gap_3k/parked/synthetic")
    parser.add_argument(
        "--pool", type=Path, default=ROOT / "out/kitti_gap_3k/real_moderate/train_first.json"
    )
    parser.add_argument("--num", type=int, default=1000, help="renders to train on")
    parser.add_argument("--size", default="1024x320")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--score", type=float, default=0.3)
    parser.add_argument("--no-flip", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--control", type=int, default=0, help="held-out renders to score too")
    args = parser.parse_args()

    import torch

    from simgen.gap.augment import AugmentConfig
    from simgen.gap.backbone import load_lite0
    from simgen.gap.data import input_size, load_detection_set, prepare
    from simgen.gap.detector import FPNHead
    from simgen.gap.features import cache_features
    from simgen.gap.run import LEARNING_RATES
    from simgen.gap.train_head import predict_features, train_head

    torch.set_num_threads(args.threads)
    classes = ["Car", "Pedestrian", "Cyclist"]
    size = input_size(args.size)
    start = time.perf_counter()
    synthetic = load_detection_set(args.train, categories=classes, boxes="amodal")
    synthetic.samples = synthetic.samples[: args.num]
    pool = load_detection_set(args.pool, categories=classes, boxes="amodal")
    backbone = load_lite0()
    rng = np.random.default_rng(args.seed)
    train = cache_features(backbone, prepare(synthetic, size), copies=1,
                           augment=AugmentConfig(flip=not args.no_flip), rng=rng)  # fmt: skip
    prepared = prepare(pool, size)
    plain = cache_features(backbone, prepared, copies=1, augment=None, rng=rng)
    torch.manual_seed(args.seed)
    head = FPNHead(len(classes))
    train_head(head, [train], [1.0], num_classes=len(classes), steps=args.steps,
               lr=LEARNING_RATES["lite0"], seed=args.seed, batch_size=16)  # fmt: skip
    found = predict_features(head, plain, prepared)
    seconds = time.perf_counter() - start
    print(f"renders {len(synthetic.samples)}, seed {args.seed}, score >= {args.score}, "
          f"{seconds:.0f} s")  # fmt: skip
    report(f"pool {args.pool} ({len(pool.samples)} frames)", json.loads(args.pool.read_text()),
           pool.samples, found, args.score)  # fmt: skip
    if args.control:
        held = load_detection_set(args.train, categories=classes, boxes="amodal")
        held.samples = held.samples[args.num : args.num + args.control]
        prepared = prepare(held, size)
        plain = cache_features(backbone, prepared, copies=1, augment=None, rng=rng)
        coco = json.loads((args.train / "annotations.json").read_text())
        report(f"held-out renders {args.num}..{args.num + len(held.samples) - 1}", coco,
               held.samples, predict_features(head, plain, prepared), args.score,
               lambda a: a["bbox_amodal"][3] > 25 and a["visib_fract"] >= 0.5)  # fmt: skip
    print()
    for name, path in (("renders", args.train / "annotations.json"), ("pool", args.pool)):
        cars, big, middle = big_car_shares(json.loads(path.read_text()))
        print(f"{name}: {cars} cars, {big:.3f} over 60 px tall, {middle:.3f} over 60 px tall "
              f"with the box centre at x 400-900")  # fmt: skip


def big_car_shares(coco: dict) -> tuple[int, float, float]:
    """``(cars, share over 60 px tall, share over 60 px with the box centre at x 400-900)``."""
    names = {c["id"]: c["name"] for c in coco["categories"]}
    boxes = np.array(
        [a["bbox_amodal"] for a in coco["annotations"]
         if names[a["category_id"]] == "Car" and not a.get("iscrowd")],
        dtype=np.float64,
    ).reshape(-1, 4)  # fmt: skip
    big = boxes[:, 3] >= 60
    centre = boxes[:, 0] + boxes[:, 2] / 2
    middle = (centre >= 400) & (centre <= 900)
    return len(boxes), float(big.mean()), float((big & middle).mean())


def report(title: str, coco: dict, samples: list, found: list, score: float, counts=None) -> None:
    """Print the car-by-car table of ``found`` (one entry per sample) against ``coco``.

    A car counts when it is not ignored nor a crowd region and ``counts(annotation)`` holds.
    """
    names = {c["id"]: c["name"] for c in coco["categories"]}
    by_image: dict[int, list] = {}
    for ann in coco["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    cars: list[tuple[float, int, float, float]] = []  # height, occlusion, best IoU, height ratio
    false_positives = {"overlapping a car": 0, "on no car": 0}
    for sample, (boxes, scores, labels) in zip(samples, found, strict=True):
        anns = by_image.get(sample.image_id, [])
        kept = boxes[(labels == 0) & (scores >= score)]
        scored = [
            a for a in anns if names[a["category_id"]] == "Car" and not a["ignore"]
            and not a["iscrowd"] and (counts is None or counts(a))
        ]  # fmt: skip
        for ann in scored:
            ious = [box_iou(ann["bbox_amodal"], d) for d in kept]
            best = int(np.argmax(ious)) if ious else -1
            ratio = float((kept[best][3] - kept[best][1]) / ann["bbox_amodal"][3]) if ious else 0.0
            occlusion = ann.get("kitti", {}).get("occluded", -1)  # renders: -1
            cars.append((ann["bbox_amodal"][3], occlusion, max(ious, default=0.0), ratio))
        for d in kept:
            overlap = max((box_iou(a["bbox_amodal"], d) for a in anns
                           if names[a["category_id"]] in ("Car", "Van")), default=0.0)  # fmt: skip
            if overlap < 0.5:
                false_positives["overlapping a car" if overlap >= 0.1 else "on no car"] += 1
    table = np.array(cars, dtype=np.float64).reshape(-1, 4)
    print(f"\n{title}")
    print("| cars | n | found | loose | median height ratio of the best box |")
    print("|---|---|---|---|---|")

    def line(label: str, rows: np.ndarray) -> None:
        if not len(rows):
            return
        found_share = float((rows[:, 2] >= 0.5).mean())
        loose = float(((rows[:, 2] >= 0.3) & (rows[:, 2] < 0.5)).mean())
        ratios = rows[rows[:, 2] >= 0.1, 3]
        ratio = f"{np.median(ratios):.2f}" if len(ratios) else "-"
        print(f"| {label} | {len(rows)} | {found_share:.2f} | {loose:.2f} | {ratio} |")

    line("all", table)
    for low, high in HEIGHTS:
        label = f"{low}-{high} px" if high < 10_000 else f">= {low} px"
        line(label, table[(table[:, 0] >= low) & (table[:, 0] < high)])
    for level in (0, 1, 2):
        line(f"occlusion {level}", table[table[:, 1] == level])
    print(f"false positives: {false_positives}")


if __name__ == "__main__":
    main()
