"""Exactness checks shared by the tests: every annotation agrees with its own mask."""

from __future__ import annotations

from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from simgen.labels import mask_bbox


def decode(ann: dict[str, Any]) -> np.ndarray:
    """(H, W) uint8 mask of an annotation's RLE."""
    rle = ann["segmentation"]
    return mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()})


def check_exact(coco: dict[str, Any]) -> int:
    """Assert bbox, area, RLE round trip and amodal consistency; returns the instance count."""
    images = {img["id"]: img for img in coco["images"]}
    for ann in coco["annotations"]:
        img = images[ann["image_id"]]
        mask = decode(ann)
        assert mask.shape == (img["height"], img["width"])
        x0, y0, x1, y1 = mask_bbox(mask.astype(bool))
        assert ann["bbox"] == [x0, y0, x1 - x0, y1 - y0]
        assert ann["area"] == int(mask.sum()) > 0
        assert (
            mask_utils.encode(np.asfortranarray(mask))["counts"].decode()
            == (ann["segmentation"]["counts"])
        )
        ax, ay, aw, ah = ann["bbox_amodal"]
        assert ax <= x0 and ay <= y0 and ax + aw >= x1 and ay + ah >= y1
        assert ann["area_amodal"] >= ann["area"]
        assert ann["ignore"] == (ann["visib_fract"] < 0.1)
    return len(coco["annotations"])
