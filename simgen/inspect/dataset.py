"""Find and load a dataset: a simgen directory or any COCO file, and masks of its annotations.

A *dataset* argument is a dataset folder or a COCO JSON file; where its COCO file and its
images are is decided by the one rule of :mod:`simgen.dataset.locate` (``--images`` overrides
the images folder).

Segmentations may be compressed RLE (``counts`` a str, as simgen and LVIS write it),
uncompressed RLE (``counts`` a list, COCO's crowd regions) or polygon lists; all are turned
into pycocotools RLE by :func:`annotation_rle`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simgen.dataset.locate import annotations_file, locate
from simgen.errors import SimgenError


@dataclass
class Dataset:
    """A loaded COCO dataset and where its files are.

    Attributes:
        coco_path: the COCO JSON file.
        coco: its parsed contents.
        images_dir: the folder image ``file_name`` values are relative to.
        root: the simgen dataset directory (with ``config.yaml``), or ``None`` for other COCO.
    """

    coco_path: Path
    coco: dict[str, Any]
    images_dir: Path
    root: Path | None = None
    _by_image: dict[Any, list[dict[str, Any]]] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        """A short display name: the dataset directory or the JSON file name."""
        return str(self.root if self.root is not None else self.coco_path)

    def category_names(self) -> dict[Any, str]:
        """Category id -> name (``str(id)`` where a category has no name)."""
        return {c.get("id"): str(c.get("name", c.get("id"))) for c in self.coco["categories"]}

    def annotations_of(self, image_id: Any) -> list[dict[str, Any]]:
        """Annotations whose ``image_id`` is ``image_id``, in file order."""
        if self._by_image is None:
            self._by_image = {}
            for ann in self.coco["annotations"]:
                self._by_image.setdefault(ann.get("image_id"), []).append(ann)
        return self._by_image.get(image_id, [])

    def image_path(self, image: dict[str, Any]) -> Path:
        """Path of an ``images`` entry's file."""
        return self.images_dir / str(image.get("file_name", ""))


def load_json(path: Path) -> Any:
    """Parse a JSON file.

    Raises:
        SimgenError: the file is missing, unreadable or not valid JSON.
    """
    if not path.is_file():
        raise SimgenError("file not found" if not path.exists() else "not a file", file=path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise SimgenError(f"not UTF-8 text: {exc.reason}", file=path) from None
    except json.JSONDecodeError as exc:
        raise SimgenError(
            f"invalid JSON: {exc.msg}", file=path, field=f"line {exc.lineno}"
        ) from None


def load_coco(path: Path) -> dict[str, Any]:
    """Parse a COCO file: valid JSON whose top level is an object.

    Raises:
        SimgenError: missing file, invalid JSON, or a top level that is not an object.
    """
    data = load_json(path)
    if not isinstance(data, dict):
        raise SimgenError(f"expected a JSON object, got {type(data).__name__}", file=path)
    return data


def require_structure(coco: dict[str, Any], path: Path) -> None:
    """Check the fields the views rely on (``simgen validate`` checks far more).

    Raises:
        SimgenError: naming the first missing or mistyped field.
    """
    for key in ("images", "annotations", "categories"):
        if not isinstance(coco.get(key), list):
            raise SimgenError("missing or not a list", file=path, field=key)
    needs = {
        "images": ("id", "width", "height", "file_name"),
        "annotations": ("image_id", "category_id", "bbox"),
        "categories": ("id",),
    }
    for key, fields in needs.items():
        for i, entry in enumerate(coco[key]):
            if not isinstance(entry, dict):
                raise SimgenError("not an object", file=path, field=f"{key}.{i}")
            for name in fields:
                if name not in entry:
                    raise SimgenError("missing", file=path, field=f"{key}.{i}.{name}")
    for i, ann in enumerate(coco["annotations"]):
        if not is_box(ann["bbox"]):
            raise SimgenError("not a list of 4 numbers", file=path, field=f"annotations.{i}.bbox")


def is_number(value: Any) -> bool:
    """True for finite int/float values (``bool`` excluded)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)


def is_box(value: Any) -> bool:
    """True for ``[x, y, w, h]``: a list of 4 numbers."""
    return isinstance(value, list) and len(value) == 4 and all(is_number(v) for v in value)


def open_dataset(
    path: str | Path, images: str | Path | None = None, *, strict: bool = True
) -> Dataset:
    """Load a dataset argument (see the module docstring).

    Args:
        path: simgen dataset directory or COCO JSON file.
        images: folder of the images; found automatically when ``None``.
        strict: also check the fields the views need (:func:`require_structure`).

    Raises:
        SimgenError: missing file, invalid JSON, or (``strict``) missing/mistyped fields.
    """
    coco_path = annotations_file(path)
    coco = load_coco(coco_path)
    if strict:
        require_structure(coco, coco_path)
    files = locate(path, coco, images)
    return Dataset(coco_path=coco_path, coco=coco, images_dir=files.images_dir, root=files.root)


def segmentation_kind(segmentation: Any) -> str:
    """``"rle"`` (counts a str), ``"rle-uncompressed"`` (counts a list), ``"polygons"``,
    ``"empty"`` (``[]``, ``[[]]``, ``{}`` or no points) or ``"invalid"``."""
    if isinstance(segmentation, dict):
        if not segmentation:
            return "empty"
        counts, size = segmentation.get("counts"), segmentation.get("size")
        if not (isinstance(size, list) and len(size) == 2 and all(is_number(s) for s in size)):
            return "invalid"
        if isinstance(counts, str):
            return "rle"
        if isinstance(counts, list) and all(is_number(c) for c in counts):
            return "rle-uncompressed"
        return "invalid"
    if isinstance(segmentation, list):
        if not all(isinstance(p, list) for p in segmentation):
            return "invalid"
        if not any(p for p in segmentation):
            return "empty"
        if not all(all(is_number(v) for v in p) for p in segmentation):
            return "invalid"
        return "polygons"
    return "invalid"


def polygons_of(segmentation: list[list[float]]) -> list[list[float]]:
    """The polygons with at least 3 points (pycocotools rejects shorter ones)."""
    return [p[: len(p) - len(p) % 2] for p in segmentation if len(p) >= 6]


def annotation_rle(segmentation: Any, height: int, width: int) -> dict[str, Any] | None:
    """A compressed pycocotools RLE of a segmentation, or ``None`` if it is empty/invalid.

    Args:
        segmentation: a COCO ``segmentation`` value of any kind (see :func:`segmentation_kind`).
        height, width: the image size, used to rasterize polygons.
    """
    from pycocotools import mask as mask_utils

    kind = segmentation_kind(segmentation)
    if kind == "rle":
        counts = segmentation["counts"].encode("ascii")
        return {"size": [int(s) for s in segmentation["size"]], "counts": counts}
    if kind == "rle-uncompressed":
        size = [int(s) for s in segmentation["size"]]
        counts = [int(c) for c in segmentation["counts"]]
        return mask_utils.frPyObjects({"size": size, "counts": counts}, *size)
    if kind == "polygons":
        polygons = polygons_of(segmentation)
        if not polygons:
            return None
        return mask_utils.merge(mask_utils.frPyObjects(polygons, int(height), int(width)))
    return None


def annotation_mask(ann: dict[str, Any], height: int, width: int) -> np.ndarray | None:
    """(H, W) bool mask of an annotation's segmentation, or ``None`` if it has none usable.

    A mask whose RLE size differs from ``(height, width)`` is returned as ``None`` too.
    """
    from pycocotools import mask as mask_utils

    rle = annotation_rle(ann.get("segmentation"), height, width)
    if rle is None or [int(s) for s in rle["size"]] != [int(height), int(width)]:
        return None
    try:
        return mask_utils.decode(rle).astype(bool)
    except (ValueError, TypeError):
        return None
