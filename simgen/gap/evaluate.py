"""COCO box AP on the real test set, with BOP's treatment of instances flagged ``ignore``.

Stock pycocotools overwrites each ground truth's ``ignore`` with its ``iscrowd``, so flagged
instances (``visib_fract`` < 0.1) would count as misses. :class:`IgnoreAwareCOCOeval` restores
the flag after pycocotools' preparation: a detection matched to an ignored instance is neither
a true nor a false positive, and an unmatched ignored instance is not a miss (BOP's behaviour).
IoU is computed as usual (``iscrowd`` stays 0). Crowd regions (``iscrowd`` 1, e.g. KITTI's
DontCare imported by ``simgen import-kitti``) keep pycocotools' meaning: a detection inside one
(intersection over the detection's area) is neither a true nor a false positive. A test set
imported with a KITTI difficulty level (``simgen import-kitti --difficulty``) ignores, as KITTI
does, detections lower than the level's minimum height: they are dropped before scoring. On a
test set imported from KITTI, KITTI's own AP_R40 at its per-class IoU is reported too
(:mod:`simgen.gap.kitti_metric`), at its three difficulty levels.
"""

from __future__ import annotations

import contextlib
import copy
import io
from typing import Any

import numpy as np

from simgen.formats.kitti_difficulty import min_detection_height
from simgen.gap.data import BoxKind, DetectionSet
from simgen.gap.kitti_metric import is_kitti_import, kitti_ap


def ground_truth(dataset: DetectionSet, boxes: BoxKind) -> dict[str, Any]:
    """The test set's COCO dict restricted to its samples, with ``bbox`` = the chosen box kind
    and categories renumbered 1..C in the dataset's class order."""
    coco = dataset.coco
    keep = {s.image_id for s in dataset.samples}
    names = {c["id"]: c["name"] for c in coco["categories"]}
    class_ids = {name: i + 1 for i, name in enumerate(dataset.categories)}
    annotations = []
    for ann in coco["annotations"]:
        name = names.get(ann["category_id"])
        if ann["image_id"] not in keep or name not in class_ids:
            continue
        ann = copy.deepcopy(ann)
        if boxes == "amodal" and not ann.get("iscrowd", 0):  # a crowd region keeps its box
            ann["bbox"] = ann["bbox_amodal"]
        ann["category_id"] = class_ids[name]
        ann.pop("segmentation", None)
        if ann["bbox"][2] <= 0 or ann["bbox"][3] <= 0:
            continue
        annotations.append(ann)
    return {
        "images": [copy.deepcopy(img) for img in coco["images"] if img["id"] in keep],
        "annotations": annotations,
        "categories": [{"id": i, "name": n} for n, i in class_ids.items()],
    }


def _coco_eval_class():
    from pycocotools.cocoeval import COCOeval

    class IgnoreAwareCOCOeval(COCOeval):
        """COCOeval that keeps the ``ignore`` flag of the ground truth (BOP's behaviour)."""

        def __init__(self, gt, dt, flags: dict[int, bool]):
            super().__init__(gt, dt, "bbox")
            self._flags = flags

        def _prepare(self):
            super()._prepare()
            for gts in self._gts.values():
                for g in gts:
                    g["ignore"] = int(bool(g.get("iscrowd", 0)) or self._flags.get(g["id"], False))

    return IgnoreAwareCOCOeval


def coco_results(
    dataset: DetectionSet,
    detections: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    *,
    min_height: float | None = None,
    own_ids: bool = True,
) -> list[dict[str, Any]]:
    """Detections as a COCO results list (``[{image_id, category_id, bbox, score}]``).

    Args:
        dataset: the scored set; ``detections[i]`` belongs to ``dataset.samples[i]``.
        detections: per sample ``(boxes (N, 4) float [x0, y0, x1, y1] in original image
            pixels, scores (N,) float, labels (N,) int indexing ``dataset.categories``)``.
        min_height: drop detections lower than this (KITTI's height: bottom - top - 1).
        own_ids: category ids of ``dataset.coco`` (so that ``COCO(file).loadRes`` of the
            set's own annotation file reads them), else 1..C in ``dataset.categories``' order
            (as :func:`ground_truth` numbers them).

    Boxes without area are left out; ``bbox`` is ``[x, y, width, height]``.
    """
    if own_ids:
        by_name = {c["name"]: c["id"] for c in dataset.coco["categories"]}
        ids = [int(by_name[name]) for name in dataset.categories]
    else:
        ids = list(range(1, len(dataset.categories) + 1))
    results = []
    for sample, (b, s, lab) in zip(dataset.samples, detections, strict=True):
        for box, score, label in zip(b, s, lab, strict=True):
            x0, y0, x1, y1 = (float(v) for v in box)
            if x1 - x0 <= 0 or y1 - y0 <= 0:
                continue
            if min_height is not None and y1 - y0 - 1.0 < min_height:
                continue
            results.append(
                {
                    "image_id": sample.image_id,
                    "category_id": ids[int(label)],
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "score": float(score),
                }
            )
    return results


def evaluate(
    dataset: DetectionSet,
    detections: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    *,
    boxes: BoxKind = "modal",
    honour_ignore: bool = True,
) -> dict[str, Any]:
    """Score detections (from :func:`simgen.gap.train.predict`) against the dataset.

    Returns:
        ``{"AP", "AP50", "AP75", "per_class": {name: AP or None}, "per_class_AP50": {name:
        AP50 or None}, "pr": {name: [precision at 101 recall points, IoU 0.5]}}``; AP values
        are in [0, 1]; a class without ground truth gets ``None``. A test set imported by
        ``simgen import-kitti`` adds ``"kitti_AP_R40"``, ``"kitti_AP_R40_easy"`` and
        ``"kitti_AP_R40_hard"``, each ``{name: AP or None}``: KITTI's AP as its devkit computes
        it at the moderate, easy and hard levels (:func:`simgen.gap.kitti_metric.kitti_ap`),
        whatever level the import flagged for the COCO scores.
    """
    from pycocotools.coco import COCO

    gt_dict = ground_truth(dataset, boxes)
    flags = {
        a["id"]: bool(a.get("ignore", False)) and honour_ignore for a in gt_dict["annotations"]
    }
    floor = min_detection_height(dataset.coco) if honour_ignore else None
    results = coco_results(dataset, detections, min_height=floor, own_ids=False)
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = gt_dict
        gt.createIndex()
        dt = gt.loadRes(results) if results else COCO()
        if not results:
            dt.dataset = {"images": gt_dict["images"], "annotations": [], "categories": []}
            dt.createIndex()
        evaluator = _coco_eval_class()(gt, dt, flags)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    kitti: dict[str, Any] = {}
    if is_kitti_import(gt_dict):
        image_ids = [sample.image_id for sample in dataset.samples]
        kitti = kitti_ap(dataset.coco, image_ids, detections, list(dataset.categories))
    precision = evaluator.eval["precision"]  # (T, R, K, A, M)
    per_class, per_class_50, curves = {}, {}, {}
    for k, name in enumerate(dataset.categories):
        values = precision[:, :, k, 0, 2]
        valid = values[values > -1]
        per_class[name] = float(valid.mean()) if valid.size else None
        valid_50 = values[0][values[0] > -1]
        per_class_50[name] = float(valid_50.mean()) if valid_50.size else None
        curve = precision[0, :, k, 0, 2]
        curves[name] = [float(max(v, 0.0)) for v in curve]
    stats = [max(float(v), 0.0) for v in evaluator.stats[:3]]
    return {
        "AP": stats[0],
        "AP50": stats[1],
        "AP75": stats[2],
        "per_class": per_class,
        "per_class_AP50": per_class_50,
        "pr": curves,
        **kitti,
    }
