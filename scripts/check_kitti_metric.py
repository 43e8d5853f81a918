"""Cross-check ``simgen.gap.kitti_metric`` against another port of KITTI's object devkit.

Draws random test sets (frames of Car, Van, Pedestrian, Person_sitting, Cyclist, Truck and
DontCare labels with random truncation and occlusion; detections near the objects with jittered
boxes, wrong classes, tied scores, and stray ones), scores each with
:func:`simgen.gap.kitti_metric.devkit_ap` and with the reference's ``do_eval`` (the 2D ``bbox``
metric, AP_R40), and prints the largest difference over every class and level.

The reference is not a dependency of simgen: any Python port of the devkit with
``do_eval(gt_annos, dt_annos, current_classes, min_overlaps, eval_types)`` returning AP_R40 of
the boxes fifth, e.g. mmdet3d's ``mmdet3d/evaluation/functional/kitti_utils/eval.py`` (needs
numba)::

    pip download --no-deps mmdet3d==1.4.0 -d /tmp/ref && cd /tmp/ref && python -m zipfile -e *.whl x
    pip install numba
    python scripts/check_kitti_metric.py \\
        --reference /tmp/ref/x/mmdet3d/evaluation/functional/kitti_utils/eval.py --trials 100

The Python ports ignore an object exactly at a level's minimum height, the C++ devkit (and simgen)
count it; object heights here are never whole pixels, so both rules give the same sets.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simgen.formats.kitti_difficulty import DIFFICULTIES
from simgen.formats.kitti_import import KITTI_IGNORE_AS as NEIGHBOUR
from simgen.gap.kitti_metric import TruthFrame, devkit_ap

TYPES = ["Car"] * 5 + ["Van", "Pedestrian", "Pedestrian", "Person_sitting", "Cyclist", "Truck"]
TYPES += ["DontCare"]
CLASSES = ["Car", "Pedestrian", "Cyclist"]


def random_box(rng: np.random.Generator) -> list[float]:
    """A box inside a 1242x375 frame, 8-168 px tall (never a whole number of pixels)."""
    height = rng.uniform(8, 160) + 0.37
    width = height * rng.uniform(0.4, 2.5)
    x, y = rng.uniform(0, 1242 - width), rng.uniform(0, 375 - height)
    return [x, y, x + width, y + height]


def random_set(rng: np.random.Generator, frames: int):
    """``(reference ground truth, reference detections, simgen frames, simgen detections)``."""
    ref_gt, ref_dt, truth, found = [], [], [], []
    for _ in range(frames):
        n = int(rng.integers(0, 12))
        names = [TYPES[int(rng.integers(len(TYPES)))] for _ in range(n)]
        boxes = np.array([random_box(rng) for _ in range(n)]).reshape(-1, 4)
        truncated = rng.choice([0.0, 0.1, 0.2, 0.4, 0.6], n)
        occluded = rng.integers(0, 4, n)
        ref_gt.append({
            "name": np.array(names), "truncated": truncated, "occluded": occluded,
            "alpha": np.zeros(n), "bbox": boxes, "dimensions": np.zeros((n, 3)),
            "location": np.zeros((n, 3)), "rotation_y": np.zeros(n),
        })  # fmt: skip
        det_boxes, det_names, det_scores = [], [], []
        for i in range(n):
            for _ in range(int(rng.integers(0, 3))):
                box = boxes[i] + rng.normal(0, 0.08, 4) * (boxes[i][3] - boxes[i][1])
                if box[2] <= box[0] + 1 or box[3] <= box[1] + 1:
                    continue
                right = names[i] in CLASSES and rng.random() < 0.8
                det_names.append(names[i] if right else CLASSES[int(rng.integers(3))])
                det_boxes.append(box)
                det_scores.append(round(float(rng.random()), 1))  # ties on purpose
        for _ in range(int(rng.integers(0, 5))):
            det_boxes.append(np.array(random_box(rng)))
            det_names.append(CLASSES[int(rng.integers(3))])
            det_scores.append(round(float(rng.random()), 1))
        m = len(det_names)
        det = np.array(det_boxes).reshape(-1, 4)
        scores = np.array(det_scores)
        ref_dt.append({
            "name": np.array(det_names), "bbox": det, "score": scores, "alpha": np.zeros(m),
            "dimensions": np.zeros((m, 3)), "location": np.zeros((m, 3)),
            "rotation_y": np.zeros(m),
        })  # fmt: skip
        keep = [i for i, t in enumerate(names) if t != "DontCare"]
        regions = [i for i, t in enumerate(names) if t == "DontCare"]
        truth.append(
            TruthFrame(
                names=tuple(NEIGHBOUR.get(names[i], names[i]) for i in keep),
                neighbour=np.array([names[i] in NEIGHBOUR for i in keep], dtype=bool),
                truncated=truncated[keep].astype(np.float64),
                occluded=occluded[keep].astype(np.int64),
                boxes=boxes[keep].reshape(-1, 4),
                dontcare=boxes[regions].reshape(-1, 4),
            )
        )
        found.append((det, scores, det_names))
    return ref_gt, ref_dt, truth, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, required=True, help="the port's eval.py")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--max-frames", type=int, default=150)
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("kitti_reference", args.reference)
    if spec is None or spec.loader is None:
        sys.exit(f"{args.reference}: not a Python file")
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    overlaps = np.array([[[0.7, 0.5, 0.5]] * 3])  # [one setting, metric, class]
    worst, compared = 0.0, 0
    for trial in range(args.trials):
        rng = np.random.default_rng(trial)
        ref_gt, ref_dt, truth, found = random_set(rng, int(rng.integers(3, args.max_frames)))
        ap40 = reference.do_eval(ref_gt, ref_dt, [0, 1, 2], overlaps, eval_types=["bbox"])[4]
        for c, name in enumerate(CLASSES):
            for d, level in enumerate(("easy", "moderate", "hard")):
                ours = devkit_ap(truth, found, name, DIFFICULTIES[level])
                theirs = float(ap40[c, d, 0]) / 100.0
                difference = abs((ours or 0.0) - theirs)  # no object: the ports say 0
                worst = max(worst, difference)
                compared += 1
                if difference > 1e-9:
                    print(f"trial {trial} {name} {level}: simgen {ours}, reference {theirs}")
    print(
        f"{args.trials} random test sets, {compared} class-level APs: "
        f"largest difference {worst:.2e}"
    )


if __name__ == "__main__":
    main()
