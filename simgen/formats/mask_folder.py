"""Folders of images with binary mask PNGs, read as COCO (COCO files and dataset folders are
found by :mod:`simgen.dataset.locate`).

Mask folders come the way defect sets do: ``ROOT/CLASS/.../NAME.jpg`` with its mask
``NAME.png`` beside it (grayscale; foreground where the value is >= 128). Each connected
component of a mask is one instance; its class is the first folder under ``ROOT`` (or what a
``mapping`` turns that name into). Images whose mask is empty, or that have no mask, become
images without annotations (negatives).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from simgen.errors import SimgenError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
"""Image file suffixes of a mask folder (masks are ``.png``, so images are not)."""


def mask_instances(mask: np.ndarray) -> list[np.ndarray]:
    """Connected components (8-connectivity) of a binary mask: a list of (H, W) bool masks."""
    import cv2

    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    return [labels == k for k in range(1, count)]


def folder_class(path: Path, root: Path, mapping: Mapping[str, str] | None = None) -> str:
    """The class of an image in a mask folder: its first folder under ``root`` (``""`` for an
    image directly in ``root``), renamed by ``mapping``."""
    parts = path.relative_to(root).parts
    folder = parts[0] if len(parts) > 1 else ""
    return (mapping or {}).get(folder, folder)


def read_mask(path: Path, height: int, width: int) -> np.ndarray | None:
    """(H, W) bool mask of the image ``path`` (its ``NAME.png`` beside it, threshold 128), or
    ``None`` when it has none.

    Raises:
        SimgenError: an unreadable mask, or one whose size differs from ``height`` x ``width``.
    """
    import cv2

    mask_path = path.with_suffix(".png")
    if not mask_path.is_file():
        return None
    mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise SimgenError("unreadable mask", file=mask_path)
    if mask.shape != (height, width):
        raise SimgenError(
            f"mask size {mask.shape[1]}x{mask.shape[0]} differs from its image's {width}x{height}",
            file=mask_path,
        )
    return mask >= 128


def mask_folder_to_coco(
    root: str | Path, mapping: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], list[Path]]:
    """Build a COCO dict (RLE masks) from a folder of images with mask PNGs.

    Args:
        root: the folder; its first-level subfolders are the classes.
        mapping: optional folder name -> category name.

    Returns:
        ``(coco, image_paths)``: ``file_name`` entries are paths relative to ``root``.

    Raises:
        SimgenError: missing folder, no images, unreadable image or mask, or a mask whose size
            differs from its image.
    """
    import cv2

    from simgen.formats.coco import encode_rle, xywh
    from simgen.labels import mask_bbox

    root = Path(root)
    if not root.is_dir():
        raise SimgenError("folder not found", file=root)
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not paths:
        raise SimgenError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found", file=root)
    categories: list[str] = []
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for image_id, path in enumerate(paths, start=1):
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise SimgenError("unreadable image", file=path)
        height, width = image.shape[:2]
        category = folder_class(path, root, mapping)
        images.append(
            {
                "id": image_id,
                "file_name": str(path.relative_to(root)),
                "width": width,
                "height": height,
            }
        )
        mask = read_mask(path, height, width)
        if mask is None:
            continue
        for instance in mask_instances(mask):
            if category not in categories:
                categories.append(category)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": categories.index(category) + 1,
                    "bbox": xywh(mask_bbox(instance)),
                    "area": int(instance.sum()),
                    "segmentation": encode_rle(instance),
                    "iscrowd": 0,
                }
            )
    coco = {
        "info": {"description": f"mask folder {root.name} imported by simgen"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [
            {"id": i + 1, "name": name, "supercategory": "object"}
            for i, name in enumerate(categories)
        ],
    }
    return coco, paths
