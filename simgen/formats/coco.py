"""COCO instance-segmentation writer (RLE masks from pycocotools, or polygons) plus BOP-style
extras."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simgen.dataset.layout import ANNOTATIONS_FILE
from simgen.formats.base import WriterOptions
from simgen.io import atomic_write_text, dump_json
from simgen.labels import Box, Instance


def rle_counts(mask: np.ndarray, window: Box | None = None) -> list[int]:
    """Uncompressed COCO RLE counts of an (H, W) bool mask: alternating run lengths of 0s and
    1s in column-major order, starting with 0s (so the first count is 0 when pixel (0, 0) is
    set), as pycocotools computes them.

    Only ``window`` (a half-open ``(x0, y0, x1, y1)`` that holds every set pixel; default: the
    mask's bounding box) is scanned: each of its columns is padded with a 0 above and below
    (so no run spans two columns), and a run that ends at a column's last row and one that
    starts at the next column's first row are joined.
    """
    height, width = mask.shape
    if window is None:
        cols = np.flatnonzero(mask.any(axis=0))
        if cols.size == 0:
            return [height * width]
        rows = np.flatnonzero(mask.any(axis=1))
        window = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
    x0, y0, x1, y1 = window
    padded = np.zeros((x1 - x0, y1 - y0 + 2), dtype=np.uint8)
    padded[:, 1:-1] = (mask[y0:y1, x0:x1] != 0).T
    flat = padded.ravel()
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    col, row = np.divmod(change, y1 - y0 + 2)
    bounds = (x0 + col) * height + (y0 - 1 + row)  # pixel index where each run starts
    joined = np.flatnonzero(bounds[1:] == bounds[:-1])
    if joined.size:
        bounds = np.delete(bounds, np.concatenate([joined, joined + 1]))
    if bounds.size and bounds[-1] == height * width:  # the last run ends at the last pixel
        bounds = bounds[:-1]
    return np.diff(bounds, prepend=0, append=height * width).tolist()


def encode_rle(mask: np.ndarray, window: Box | None = None) -> dict[str, Any]:
    """COCO RLE of an (H, W) bool mask with ``counts`` as str: :func:`rle_counts` (``window``:
    a box that holds every set pixel, to scan less), compressed to a string by pycocotools.
    Identical to ``pycocotools.mask.encode``; several times faster on instance masks because
    only a box is scanned."""
    from pycocotools import mask as mask_utils

    height, width = mask.shape
    rle = mask_utils.frPyObjects(
        {"size": [height, width], "counts": rle_counts(mask, window)}, height, width
    )
    return {"size": [height, width], "counts": rle["counts"].decode()}


def xywh(box: Box) -> list[int]:
    """Half-open ``(x0, y0, x1, y1)`` -> COCO ``[x, y, w, h]``."""
    x0, y0, x1, y1 = box
    return [x0, y0, x1 - x0, y1 - y0]


def instance_annotation(instance: Instance) -> dict[str, Any]:
    """The per-image part of a COCO annotation (ids are assigned when the file is written).

    Extras beyond COCO: ``bbox_amodal`` (full silhouette, clipped to the image),
    ``area_amodal``, ``segmentation_amodal`` (that silhouette as RLE), ``visib_fract`` and
    ``ignore`` (BOP semantics: ``visib_fract`` below the threshold). ``iscrowd`` is always 0;
    stock pycocotools evaluation therefore scores ignored instances like any other unless an
    evaluator reads ``ignore``.
    """
    return {
        "category": instance.category,
        "bbox": xywh(instance.bbox),
        "area": instance.area,
        "segmentation": encode_rle(instance.mask, instance.bbox),
        "iscrowd": 0,
        "bbox_amodal": xywh(instance.amodal_bbox),
        "area_amodal": instance.amodal_area,
        "segmentation_amodal": encode_rle(instance.amodal_mask, instance.amodal_bbox),
        "visib_fract": instance.visib_fract,
        "ignore": bool(instance.ignore),
        "instance_id": instance.instance_id,
    }


def polygon_segmentation(segmentation: dict[str, Any]) -> list[list[float]]:
    """COCO polygons ``[[x0, y0, x1, y1, ...], ...]`` of an RLE segmentation.

    Vertices are boundary-pixel centres in COCO's continuous coordinates (pixel ``(c, r)``
    spans ``[c, c + 1) x [r, r + 1)``); see :mod:`simgen.formats.polygons`.
    """
    from simgen.formats.polygons import decode_rle, mask_polygons

    return [
        [float(v) for v in polygon.reshape(-1)]
        for polygon in mask_polygons(decode_rle(segmentation))
    ]


def build_coco(
    records: Sequence[dict[str, Any]],
    categories: Sequence[str],
    *,
    info: dict[str, Any],
    polygons: bool = False,
) -> dict[str, Any]:
    """Assemble a COCO dict. Image id = record index + 1; annotation ids run 1, 2, … in order.

    With ``polygons`` the segmentations become polygons; ``bbox`` and ``area`` stay those of
    the exact mask.
    """
    category_ids = {name: i + 1 for i, name in enumerate(categories)}
    images, annotations = [], []
    next_id = 1
    for record in records:
        image = record["image"]
        image_id = int(image["index"]) + 1
        images.append({"id": image_id, **{k: v for k, v in image.items() if k != "index"}})
        for ann in record["annotations"]:
            fields = {k: v for k, v in ann.items() if k != "category"}
            if polygons:
                fields["segmentation"] = polygon_segmentation(ann["segmentation"])
            annotations.append(
                {
                    "id": next_id,
                    "image_id": image_id,
                    "category_id": category_ids[ann["category"]],
                    **fields,
                }
            )
            next_id += 1
    return {
        "info": info,
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [
            {"id": cid, "name": name, "supercategory": "object"}
            for name, cid in category_ids.items()
        ],
    }


class CocoWriter:
    """Writes ``DIR/annotations.json`` (RLE masks, or polygons with ``coco_polygons``)."""

    name = "coco"

    def __init__(self, options: WriterOptions | None = None) -> None:
        self.options = options or WriterOptions()

    def finalize(
        self, out_dir: Path, records: Sequence[dict[str, Any]], categories: Sequence[str]
    ) -> Path:
        path = out_dir / ANNOTATIONS_FILE
        coco = build_coco(
            records, categories, info=self.options.info, polygons=self.options.coco_polygons
        )
        atomic_write_text(path, dump_json(coco))
        return path
