"""YOLO writers: detection boxes (``yolo``) and segmentation polygons (``yolo-seg``).

Layout, as Ultralytics and YOLOv5-style trainers read it (a label file's path is its image's
path with ``images`` replaced by ``labels``)::

    DIR/yolo/data.yaml             path (this folder, absolute), train, val, names
    DIR/yolo/images/NNNNNN.png     hard links to DIR/images (copies where links fail)
    DIR/yolo/labels/NNNNNN.txt     one line per annotation

``yolo-seg`` writes the same under ``DIR/yolo-seg``. A detection line is ``class cx cy w h``; a
segmentation line is ``class x1 y1 x2 y2 ...`` (one polygon per object: a mask in several parts
is joined by zero-width bridges). Coordinates are normalized by the image size, written with
six decimals; ``class`` is the COCO category id - 1. Every annotation of the COCO file is
written, including those flagged ``ignore`` (YOLO has no such flag). ``train`` and ``val`` both
name the whole set: split it as your experiment needs. ``data.yaml`` is the one file whose
bytes depend on where the dataset lies (its absolute ``path``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from simgen.dataset.layout import IMAGES_DIR
from simgen.formats.base import WriterOptions
from simgen.formats.files import link_or_copy
from simgen.io import atomic_write_text


def _number(value: float) -> str:
    return f"{value:.6f}"


def detection_line(class_index: int, bbox: Sequence[int], width: int, height: int) -> str:
    """``class cx cy w h`` (normalized) of a COCO ``[x, y, w, h]`` box."""
    x, y, w, h = bbox
    values = ((x + w / 2) / width, (y + h / 2) / height, w / width, h / height)
    return " ".join([str(class_index), *map(_number, values)])


def segmentation_line(class_index: int, polygon: np.ndarray, width: int, height: int) -> str:
    """``class x1 y1 x2 y2 ...`` (normalized) of a (K, 2) pixel polygon."""
    scaled = polygon / np.array([width, height], dtype=np.float64)
    return " ".join([str(class_index), *(_number(v) for v in scaled.reshape(-1))])


class YoloWriter:
    """YOLO detection labels (``DIR/yolo``)."""

    name = "yolo"
    folder = "yolo"
    task = "detect"

    def __init__(self, options: WriterOptions | None = None) -> None:
        self.options = options or WriterOptions()

    def label_lines(self, record: dict[str, Any], class_ids: dict[str, int]) -> list[str]:
        """The label file's lines for one record."""
        image = record["image"]
        return [
            detection_line(class_ids[a["category"]], a["bbox"], image["width"], image["height"])
            for a in record["annotations"]
        ]

    def finalize(
        self, out_dir: Path, records: Sequence[dict[str, Any]], categories: Sequence[str]
    ) -> Path:
        root = out_dir / self.folder
        (root / "images").mkdir(parents=True, exist_ok=True)
        (root / "labels").mkdir(parents=True, exist_ok=True)
        class_ids = {name: i for i, name in enumerate(categories)}
        for record in records:
            file_name = record["image"]["file_name"]
            link_or_copy(out_dir / IMAGES_DIR / file_name, root / "images" / file_name)
            lines = self.label_lines(record, class_ids)
            text = "".join(line + "\n" for line in lines)
            atomic_write_text(root / "labels" / f"{Path(file_name).stem}.txt", text)
        data = {
            "path": str(root.resolve()),
            "train": "images",
            "val": "images",
            "names": dict(enumerate(categories)),
        }
        header = (
            f"# YOLO {self.task} labels written by simgen: labels/NAME.txt belongs to "
            "images/NAME.png\n"
        )
        path = root / "data.yaml"
        atomic_write_text(path, header + yaml.safe_dump(data, sort_keys=False))
        return path


class YoloSegWriter(YoloWriter):
    """YOLO segmentation labels (``DIR/yolo-seg``): one polygon per annotation."""

    name = "yolo-seg"
    folder = "yolo-seg"
    task = "segment"

    def label_lines(self, record: dict[str, Any], class_ids: dict[str, int]) -> list[str]:
        from simgen.formats.polygons import decode_rle, join_polygons, mask_polygons

        image = record["image"]
        lines = []
        for ann in record["annotations"]:
            polygon = join_polygons(mask_polygons(decode_rle(ann["segmentation"])))
            lines.append(
                segmentation_line(
                    class_ids[ann["category"]], polygon, image["width"], image["height"]
                )
            )
        return lines
