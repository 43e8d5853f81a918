"""Inputs of a composite dataset: instance cut-outs and defect-free backgrounds.

Instances come from a COCO dataset (a simgen folder or a COCO JSON file) or from a folder of
images with binary mask PNGs
(:func:`simgen.formats.mask_folder.mask_folder_to_coco`: the class is the first folder under the
root, instances are connected components). Each instance becomes a
:class:`Cutout`: the pixels of its mask's bounding box plus a margin of surrounding context,
and the mask itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from simgen.errors import SimgenError
from simgen.formats.mask_folder import IMAGE_SUFFIXES

BACKGROUND_SUFFIXES = (*IMAGE_SUFFIXES, ".png")
"""Background image suffixes (a ``.png`` beside an image of the same stem is its mask, and
is skipped)."""


@dataclass(frozen=True)
class Cutout:
    """One source instance.

    Attributes:
        category: class name.
        source: image file (relative to the source root) and annotation id, for records.
        patch: (h, w, 3) uint8 RGB pixels of the mask's box plus ``context`` pixels around it
            (fewer where the image ends).
        mask: (h, w) bool, the instance inside ``patch``.
        image_size: ``(height, width)`` of the source image (relative scaling).
        centre: ``(x, y)`` of the mask's box centre as fractions of the source image's width
            and height (``placement.position: source``).
    """

    category: str
    source: str
    annotation_id: int
    patch: np.ndarray = field(repr=False)
    mask: np.ndarray = field(repr=False)
    image_size: tuple[int, int]
    centre: tuple[float, float] = (0.5, 0.5)


def read_image(path: Path, *, what: str = "image") -> tuple[np.ndarray, bool]:
    """``(rgb, was_gray)``: (H, W, 3) uint8 RGB of an image file and whether it had one channel.

    Raises:
        SimgenError: the file is missing or does not decode.
    """
    import cv2

    if not path.is_file():
        raise SimgenError(f"{what} file not found", file=path)
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise SimgenError(f"unreadable {what}", file=path)
    if image.dtype != np.uint8:
        scale = 255.0 / max(float(np.iinfo(image.dtype).max), 1.0) if image.dtype.kind == "u" else 1
        image = np.clip(image.astype(np.float64) * scale, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2), True
    if image.shape[2] == 4:
        image = image[:, :, :3]
    return np.ascontiguousarray(image[:, :, ::-1]), False


def _cut(rgb: np.ndarray, mask: np.ndarray, context: int) -> tuple[np.ndarray, np.ndarray]:
    """Crop (image, mask) to the mask's bounding box grown by ``context`` pixels."""
    ys, xs = np.nonzero(mask)
    height, width = mask.shape
    y0, y1 = max(int(ys.min()) - context, 0), min(int(ys.max()) + 1 + context, height)
    x0, x1 = max(int(xs.min()) - context, 0), min(int(xs.max()) + 1 + context, width)
    return rgb[y0:y1, x0:x1].copy(), mask[y0:y1, x0:x1].copy()


def _coco_source(
    path: Path, mapping: Mapping[str, str] | None
) -> tuple[dict[str, Any], Path, Path]:
    """``(coco, images folder, file named in errors)`` of an instance source."""
    from simgen.dataset.layout import ANNOTATIONS_FILE
    from simgen.dataset.locate import read_dataset
    from simgen.formats.mask_folder import mask_folder_to_coco

    if not path.exists():
        raise SimgenError("instance source not found", file=path)
    if path.is_dir() and not (path / ANNOTATIONS_FILE).is_file():
        coco, _ = mask_folder_to_coco(path, mapping)
        return coco, path, path
    coco, files = read_dataset(path)
    annotations, images_dir = files.annotations, files.images_dir
    if mapping:
        for category in coco["categories"]:
            category["name"] = mapping.get(category["name"], category["name"])
    return coco, images_dir, annotations


def load_cutouts(
    path: str | Path,
    *,
    mapping: Mapping[str, str] | None = None,
    context: int = 6,
    min_area: int = 1,
) -> tuple[list[Cutout], list[str]]:
    """Every usable instance of a source, in (image, annotation) order, and the class names.

    Args:
        path: COCO dataset folder / JSON file, or mask folder.
        mapping: optional class renaming (folder or category name -> class).
        context: pixels of surrounding image kept around each mask.
        min_area: instances with fewer mask pixels are skipped (mask-folder noise specks).

    Returns:
        ``(cutouts, categories)``; categories in the source's order, only those with cut-outs.

    Raises:
        SimgenError: unreadable source, image or mask; a mask whose size differs from its
            image; an annotation with an empty mask; no usable instance at all.
    """
    from simgen.inspect.dataset import annotation_mask
    from simgen.labels import mask_bbox

    path = Path(path)
    coco, images_dir, source = _coco_source(path, mapping)
    names = {c["id"]: c["name"] for c in coco["categories"]}
    by_image: dict[Any, list[dict[str, Any]]] = {}
    for ann in coco["annotations"]:
        by_image.setdefault(ann.get("image_id"), []).append(ann)
    cutouts: list[Cutout] = []
    for image in sorted(coco["images"], key=lambda im: im["id"]):
        anns = [a for a in by_image.get(image["id"], []) if not a.get("iscrowd", 0)]
        if not anns:
            continue
        file = images_dir / image["file_name"]
        rgb, _ = read_image(file)
        height, width = rgb.shape[:2]
        if (image.get("height"), image.get("width")) not in ((height, width), (None, None)):
            raise SimgenError(
                f"image is {width}x{height} but the COCO entry says "
                f"{image.get('width')}x{image.get('height')}",
                file=file,
            )
        for ann in anns:
            where = f"annotations[id={ann.get('id')}].segmentation"
            if ann.get("category_id") not in names:
                raise SimgenError("unknown category_id", file=source, field=where)
            mask = annotation_mask(ann, height, width)
            if mask is None:
                raise SimgenError(
                    f"no usable mask of the image's size {width}x{height}", file=source, field=where
                )
            if not mask.any():
                raise SimgenError("empty mask", file=source, field=where)
            if int(mask.sum()) < min_area:
                continue
            patch, crop = _cut(rgb, mask, context)
            x0, y0, x1, y1 = mask_bbox(mask)
            centre = ((x0 + x1) / (2.0 * width), (y0 + y1) / (2.0 * height))
            cutouts.append(
                Cutout(
                    category=names[ann["category_id"]],
                    source=str(image["file_name"]),
                    annotation_id=int(ann["id"]),
                    patch=patch,
                    mask=crop,
                    image_size=(height, width),
                    centre=centre,
                )
            )
    if not cutouts:
        raise SimgenError(
            f"no instance with a mask of at least {min_area} pixels",
            file=source,
            field="annotations",
        )
    ordered = [c["name"] for c in sorted(coco["categories"], key=lambda c: c["id"])]
    used = {c.category for c in cutouts}
    categories = list(dict.fromkeys(n for n in ordered if n in used))
    return cutouts, categories


def list_backgrounds(folder: str | Path) -> list[Path]:
    """Background images under ``folder`` (recursive, sorted); mask PNGs beside images skipped.

    Every file is opened (header only) so that a broken one fails before anything is written.

    Raises:
        SimgenError: missing folder, no images, or an unreadable image.
    """
    from PIL import Image, UnidentifiedImageError

    folder = Path(folder)
    if not folder.is_dir():
        raise SimgenError("backgrounds folder not found", file=folder)
    files = sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in BACKGROUND_SUFFIXES
    )
    stems = {p.with_suffix("") for p in files if p.suffix.lower() != ".png"}
    files = [p for p in files if not (p.suffix.lower() == ".png" and p.with_suffix("") in stems)]
    if not files:
        raise SimgenError(
            f"no background images ({', '.join(BACKGROUND_SUFFIXES)}) found", file=folder
        )
    for path in files:
        try:
            with Image.open(path) as image:
                image.verify()
        except (UnidentifiedImageError, OSError, SyntaxError) as exc:
            raise SimgenError(f"unreadable background image ({exc})", file=path) from None
    return files


def background_labels(
    path: Path, root: Path, mapping: Mapping[str, str] | None = None
) -> list[tuple[str, np.ndarray]]:
    """The labeled instances of a background image: ``(class, (H, W) bool mask)`` for every
    connected component of the ``NAME.png`` mask beside it (none without one). The class is
    the first folder under ``root`` (renamed by ``mapping``), as for a mask-folder source.

    Raises:
        SimgenError: an unreadable mask, or one whose size differs from its image.
    """
    return list(_background_labels(path, root, tuple(sorted((mapping or {}).items()))))


@lru_cache(maxsize=256)
def _background_labels(
    path: Path, root: Path, mapping: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, np.ndarray], ...]:
    from simgen.formats.mask_folder import folder_class, mask_instances, read_mask

    if path.suffix.lower() == ".png":
        return ()
    rgb, _ = load_background(path)
    mask = read_mask(path, *rgb.shape[:2])
    if mask is None:
        return ()
    category = folder_class(path, root, dict(mapping))
    instances = []
    for instance in mask_instances(mask):
        instance.setflags(write=False)
        instances.append((category, instance))
    return tuple(instances)


@lru_cache(maxsize=64)
def load_background(path: Path) -> tuple[np.ndarray, bool]:
    """Cached :func:`read_image` of a background (read-only array)."""
    rgb, gray = read_image(path, what="background image")
    rgb.setflags(write=False)
    return rgb, gray
