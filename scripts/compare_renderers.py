#!/usr/bin/env python
"""Compare two renderers on the same scenes: instance maps (labels) and images.

Reads two ``.npz`` files written by ``scripts/bench_growth.py --scenes FILE --keep-images``
(e.g. one from Mesa's llvmpipe, one from a GPU driver) and prints, per row of the grid: the
fraction of pixels whose instance id differs, the lowest and mean IoU of an instance's visible
mask between the two, and the mean absolute difference of the 8-bit images.

Usage: python scripts/compare_renderers.py A.npz B.npz
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict

import numpy as np

MIN_AREA = 64
"""Instances smaller than this (pixels, in either map) are counted apart: a one-pixel sliver
seen by one renderer only has IoU 0 and says little about the masks a detector learns from."""


def instance_ious(a: np.ndarray, b: np.ndarray) -> tuple[list[float], int]:
    """IoU of each instance's mask between maps ``a`` and ``b`` ((H, W) integer arrays of the
    same shape) for instances of at least :data:`MIN_AREA` pixels, and how many were smaller."""
    ious, small = [], 0
    for value in np.union1d(np.unique(a), np.unique(b)):
        if value == 0:
            continue
        mask_a, mask_b = a == value, b == value
        if max(mask_a.sum(), mask_b.sum()) < MIN_AREA:
            small += 1
            continue
        ious.append(float((mask_a & mask_b).sum() / (mask_a | mask_b).sum()))
    return ious, small


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a")
    parser.add_argument("b")
    args = parser.parse_args()
    a, b = np.load(args.a), np.load(args.b)
    rows: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for key in sorted(set(a.files) & set(b.files)):
        row, _, item = key.rpartition("_")
        if item.startswith("ids"):
            rows[row]["differing"].append(float((a[key] != b[key]).mean()))
            ious, small = instance_ious(a[key], b[key])
            rows[row]["iou"].extend(ious)
            rows[row]["small"].append(small)
        elif item.startswith("rgb"):
            diff = np.abs(a[key].astype(np.int16) - b[key].astype(np.int16))
            rows[row]["rgb"].append(float(diff.mean()))
    summary = {}
    for row, values in rows.items():
        summary[row] = {
            "images": len(values["differing"]),
            "pixels_with_other_id": round(float(np.mean(values["differing"])), 6),
            "instances": len(values["iou"]),
            "smaller_than_min_area": int(sum(values["small"])),
            "min_iou": round(min(values["iou"]), 4),
            "mean_iou": round(float(np.mean(values["iou"])), 4),
            "rgb_mean_abs_diff": round(float(np.mean(values["rgb"])), 2),
        }
        s = summary[row]
        print(
            f"{row:14s} {s['images']} images, pixels with another id "
            f"{s['pixels_with_other_id']:.4%}; {s['instances']} instances of >= {MIN_AREA} px: "
            f"IoU min {s['min_iou']:.4f} mean {s['mean_iou']:.4f} "
            f"({s['smaller_than_min_area']} smaller); image mean |diff| "
            f"{s['rgb_mean_abs_diff']:.2f} levels"
        )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
