"""Check any COCO instance file, simgen's or anyone's, and list every problem found.

Each problem is an *error* (the file is wrong: training or evaluation code will misread it)
or a *warning* (legal COCO, but likely a mistake). Checks:

- structure: ``images``, ``annotations``, ``categories`` are lists of objects with the COCO
  fields of the right types; pycocotools can index the file;
- ids: image, annotation and category ids are unique integers; category ids are not 0
  (background to most trainers, and dropped by BlenderProc's writer); skipped annotation ids
  are warnings;
- references: every annotation's ``image_id`` and ``category_id`` exist;
- ``area`` is a positive number (not a list), ``bbox`` four numbers, non-empty, inside the
  image;
- ``iscrowd`` is 0 or 1; ``iscrowd=1`` on anything but an uncompressed RLE crowd region, and
  ``iscrowd=0`` on an uncompressed RLE, are warnings (trainers such as Detectron2 skip crowd
  instances);
- segmentations are present (else a warning: boxes only) and not empty; RLE ``size`` is the
  image's ``[height, width]``;
- ``bbox`` is the tight box of the mask and ``area`` its pixel count (tolerances below);
- simgen extras, when present: ``bbox_amodal`` contains ``bbox``, ``area <= area_amodal``,
  ``visib_fract = area / area_amodal``, ``ignore`` is a bool; ``segmentation_amodal`` (RLE)
  has ``area_amodal`` pixels and contains the visible mask;
- images exist on disk, decode completely (a truncated or corrupt file is an error naming it)
  and have the stated width and height (unless skipped).

Tolerances. RLE masks (compressed or not) must match exactly: ``bbox`` equals
``pycocotools.mask.toBbox`` and ``area`` equals ``pycocotools.mask.area`` (up to 1e-6, so
``12.0`` equals ``12``). Polygons are rasterized by pycocotools, which moves edges by up to one
pixel and drops spikes thinner than a pixel, so for them each ``bbox`` edge may be up to
:data:`POLYGON_BOX_TOL` = 1 px from the rasterized mask's tight box *or* from the polygon's
vertex extents (COCO's own rule), and ``area`` may differ from the mask's pixel count by up to
the polygon's perimeter in pixels (a one-pixel band along the outline) or equal the polygon's
own (shoelace) area within 0.1 %. Boxes of polygon annotations may overhang the image by the
same 1 px.
"""

from __future__ import annotations

import contextlib
import io
import itertools
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from simgen.inspect.dataset import (
    Dataset,
    annotation_rle,
    is_box,
    is_number,
    polygons_of,
    segmentation_kind,
)

EXACT_TOL = 1e-6
"""Absolute tolerance for "exact" comparisons of numbers written as floats."""
POLYGON_BOX_TOL = 1.0
"""Pixels each box edge of a polygon annotation may be off (see the module docstring)."""
POLYGON_AREA_REL_TOL = 1e-3
"""Relative tolerance when ``area`` is taken as the polygon's own (shoelace) area."""
TOLERANCE_NOTE = (
    "tolerance: RLE exact; polygons: bbox edges within 1 px of the rasterized mask's box or of "
    "the vertex extents, area within the perimeter (px) of the pixel count or within 0.1% of "
    "the polygon area"
)

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding.

    Attributes:
        severity: ``"error"`` or ``"warning"``.
        code: short machine-readable name, e.g. ``"bbox-mismatch"``.
        subject: what it is about: ``"file"``, ``"image"``, ``"category"`` or ``"annotation"``.
        ref: the subject's id (or ``"#N"``, its position in the list, when it has no id).
        message: what is wrong, one line.
    """

    severity: Severity
    code: str
    subject: str
    ref: str
    message: str

    def __str__(self) -> str:
        where = self.subject if self.subject == "file" else f"{self.subject} {self.ref}"
        return f"{self.severity}: {where}: {self.message}"


@dataclass
class ValidationReport:
    """All problems found in one COCO file, plus what was checked."""

    source: str
    problems: list[Problem] = field(default_factory=list)
    images: int = 0
    annotations: int = 0
    categories: int = 0
    masks_checked: int = 0
    images_checked: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def summary(self) -> str:
        """One line: counts of problems and of what was checked."""
        return (
            f"{self.source}: {len(self.errors)} errors, {len(self.warnings)} warnings "
            f"({self.images} images, {self.annotations} annotations, {self.categories} "
            f"categories; {self.masks_checked} masks and {self.images_checked} image files "
            f"checked; {TOLERANCE_NOTE})"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "source": self.source,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "images": self.images,
            "annotations": self.annotations,
            "categories": self.categories,
            "masks_checked": self.masks_checked,
            "images_checked": self.images_checked,
            "tolerance": TOLERANCE_NOTE,
            "problems": [asdict(p) for p in self.problems],
        }


class _Collector:
    """Appends problems to a report."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report

    def error(self, code: str, subject: str, ref: Any, message: str) -> None:
        self.report.problems.append(Problem("error", code, subject, str(ref), message))

    def warning(self, code: str, subject: str, ref: Any, message: str) -> None:
        self.report.problems.append(Problem("warning", code, subject, str(ref), message))


def _is_int(value: Any) -> bool:
    """True for ints and integral floats (``bool`` excluded)."""
    return is_number(value) and float(value).is_integer()


def _ref(entry: Any, index: int) -> str:
    """An entry's id for messages, or ``#index`` when it has no usable id."""
    if isinstance(entry, dict) and isinstance(entry.get("id"), int | str):
        return str(entry["id"])
    return f"#{index}"


def _fmt(values: Any) -> str:
    """Numbers as compact text: ``[10, 20, 30.5, 4]``."""
    if isinstance(values, list | tuple | np.ndarray):
        return "[" + ", ".join(_fmt(v) for v in values) + "]"
    if is_number(values):
        value = float(values)
        return str(int(value)) if value.is_integer() else f"{value:.6g}"
    return repr(values)


def _check_structure(coco: dict[str, Any], out: _Collector) -> bool:
    """Top-level lists; returns whether the rest of the checks can run."""
    ok = True
    for key in ("images", "annotations", "categories"):
        if key not in coco:
            out.error("schema", "file", "", f"missing top-level '{key}'")
            ok = False
        elif not isinstance(coco[key], list):
            out.error("schema", "file", "", f"'{key}' is {type(coco[key]).__name__}, not a list")
            ok = False
    return ok


def _check_pycocotools(coco: dict[str, Any], out: _Collector) -> None:
    """pycocotools must index the file (``COCO.createIndex``)."""
    from pycocotools.coco import COCO

    api = COCO()
    api.dataset = coco
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            api.createIndex()
    except Exception as exc:  # any failure means pycocotools cannot load it
        out.error("pycocotools", "file", "", f"pycocotools cannot index it: {exc!r}")


def _check_images(images: list[Any], out: _Collector) -> dict[Any, dict[str, Any]]:
    """Image entries; returns the valid ones by id."""
    valid: dict[Any, dict[str, Any]] = {}
    ids: Counter = Counter()
    names: Counter = Counter()
    for i, image in enumerate(images):
        ref = _ref(image, i)
        if not isinstance(image, dict):
            out.error("schema", "image", ref, "entry is not an object")
            continue
        ok = True
        if not _is_int(image.get("id")):
            out.error("schema", "image", ref, f"id {image.get('id')!r} is not an integer")
            ok = False
        for key in ("width", "height"):
            value = image.get(key)
            if not (_is_int(value) and value > 0):
                out.error("schema", "image", ref, f"{key} {value!r} is not a positive integer")
                ok = False
        if not isinstance(image.get("file_name"), str) or not image.get("file_name"):
            out.error("schema", "image", ref, "file_name is missing or not a string")
        else:
            names[image["file_name"]] += 1
        if _is_int(image.get("id")):
            ids[image["id"]] += 1
        if ok:
            valid[image["id"]] = image
    for image_id, count in ids.items():
        if count > 1:
            out.error("duplicate-id", "image", image_id, f"id used by {count} images")
    for name, count in names.items():
        if count > 1:
            out.warning("duplicate-file", "image", name, f"file_name used by {count} images")
    return valid


def _check_categories(categories: list[Any], out: _Collector) -> set[Any]:
    """Category entries; returns the valid ids."""
    ids: Counter = Counter()
    names: Counter = Counter()
    for i, category in enumerate(categories):
        ref = _ref(category, i)
        if not isinstance(category, dict):
            out.error("schema", "category", ref, "entry is not an object")
            continue
        cid = category.get("id")
        if not _is_int(cid):
            out.error("schema", "category", ref, f"id {cid!r} is not an integer")
        else:
            ids[cid] += 1
            if cid == 0:
                out.error(
                    "category-zero",
                    "category",
                    ref,
                    "id 0 is the background class in most trainers",
                )
        if not isinstance(category.get("name"), str) or not category.get("name"):
            out.error("schema", "category", ref, "name is missing or not a string")
        else:
            names[category["name"]] += 1
    for cid, count in ids.items():
        if count > 1:
            out.error("duplicate-id", "category", cid, f"id used by {count} categories")
    for name, count in names.items():
        if count > 1:
            out.warning("duplicate-name", "category", name, f"name used by {count} categories")
    return {cid for cid in ids if cid != 0}


def _check_annotation_ids(annotations: list[Any], out: _Collector) -> None:
    """Unique integer ids; gaps in the sorted ids are warnings."""
    ids: Counter = Counter()
    for i, ann in enumerate(annotations):
        if not isinstance(ann, dict):
            continue
        if "id" not in ann:
            out.error("schema", "annotation", f"#{i}", "id is missing")
        elif not _is_int(ann["id"]):
            out.error("schema", "annotation", _ref(ann, i), f"id {ann['id']!r} is not an integer")
        else:
            ids[ann["id"]] += 1
    for aid, count in ids.items():
        if count > 1:
            out.error("duplicate-id", "annotation", aid, f"id used by {count} annotations")
    ordered = sorted(ids)
    for previous, current in itertools.pairwise(ordered):
        if current - previous > 1:
            skipped = (
                f"{previous + 1}" if current - previous == 2 else f"{previous + 1}-{current - 1}"
            )
            out.warning(
                "skipped-id", "annotation", current, f"id follows {previous}; ids {skipped} unused"
            )


def _bbox_inside(box: list[float], width: int, height: int, tol: float) -> bool:
    x, y, w, h = box
    return x >= -tol and y >= -tol and x + w <= width + tol and y + h <= height + tol


def _polygon_geometry(polygons: list[list[float]]) -> tuple[np.ndarray, float, float]:
    """Vertex extents ``[x0, y0, x1, y1]`` (float64), summed shoelace area and perimeter."""
    points = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in polygons]
    stacked = np.concatenate(points)
    extents = np.array([*stacked.min(axis=0), *stacked.max(axis=0)])
    area = perimeter = 0.0
    for p in points:
        x, y = p[:, 0], p[:, 1]
        area += 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
        perimeter += float(np.sum(np.hypot(*(np.roll(p, -1, axis=0) - p).T)))
    return extents, area, perimeter


def _corners(box: Any) -> np.ndarray:
    """``[x, y, w, h]`` -> ``[x0, y0, x1, y1]`` (float64)."""
    x, y, w, h = (float(v) for v in box)
    return np.array([x, y, x + w, y + h])


def _check_mask(
    ann: dict[str, Any],
    ref: str,
    image: dict[str, Any],
    out: _Collector,
    report: ValidationReport,
) -> None:
    """bbox == tight box of the mask and area == its pixel count (with polygon tolerances)."""
    from pycocotools import mask as mask_utils

    segmentation = ann["segmentation"]
    kind = segmentation_kind(segmentation)
    height, width = int(image["height"]), int(image["width"])
    if kind == "invalid":
        out.error("segmentation-invalid", "annotation", ref, "segmentation is not RLE or polygons")
        return
    if kind == "empty":
        out.error("segmentation-empty", "annotation", ref, "segmentation is empty")
        return
    if kind.startswith("rle"):
        size = [int(s) for s in segmentation["size"]]
        if size != [height, width]:
            out.error(
                "segmentation-size",
                "annotation",
                ref,
                f"RLE size {size} != image [height, width] [{height}, {width}]",
            )
            return
    if kind == "polygons" and not polygons_of(segmentation):
        out.error("segmentation-empty", "annotation", ref, "no polygon has 3 or more points")
        return
    try:
        rle = annotation_rle(segmentation, height, width)
        pixels = int(mask_utils.area(rle))
        tight = mask_utils.toBbox(rle).astype(np.float64)
    except Exception as exc:  # a malformed RLE string or polygon
        out.error("segmentation-invalid", "annotation", ref, f"pycocotools cannot read it: {exc}")
        return
    report.masks_checked += 1
    if pixels == 0:
        out.error("segmentation-empty", "annotation", ref, "segmentation covers no pixel")
        return
    area, bbox = ann.get("area"), ann.get("bbox")
    tight_corners = _corners(tight)
    if kind.startswith("rle"):
        if is_box(bbox) and np.abs(_corners(bbox) - tight_corners).max() > EXACT_TOL:
            out.error(
                "bbox-mismatch",
                "annotation",
                ref,
                f"bbox {_fmt(bbox)} != tight box of mask {_fmt(tight)}",
            )
        if is_number(area) and abs(float(area) - pixels) > EXACT_TOL:
            out.error(
                "area-mismatch",
                "annotation",
                ref,
                f"area {_fmt(area)} != mask pixel count {pixels}",
            )
        return
    extents, poly_area, perimeter = _polygon_geometry(polygons_of(segmentation))
    if is_box(bbox):
        corners = _corners(bbox)
        off_mask = np.abs(corners - tight_corners).max()
        off_vertices = np.abs(corners - extents).max()
        if min(off_mask, off_vertices) > POLYGON_BOX_TOL:
            out.error(
                "bbox-mismatch",
                "annotation",
                ref,
                f"bbox {_fmt(bbox)} != tight box of mask {_fmt(tight)} (polygon: edges off by "
                f"{off_mask:.2f} px from the mask's box and {off_vertices:.2f} px from the "
                f"vertex extents {_fmt(extents[:2])}-{_fmt(extents[2:])}; tolerance "
                f"{POLYGON_BOX_TOL:g} px)",
            )
    if is_number(area):
        near_pixels = abs(float(area) - pixels) <= perimeter
        near_polygon = abs(float(area) - poly_area) <= POLYGON_AREA_REL_TOL * poly_area
        if not (near_pixels or near_polygon):
            out.error(
                "area-mismatch",
                "annotation",
                ref,
                f"area {_fmt(area)} != mask pixel count {pixels} "
                f"(polygon: tolerance {perimeter:.1f} px, polygon area {poly_area:.1f})",
            )


def _check_crowd(ann: dict[str, Any], ref: str, out: _Collector) -> None:
    """``iscrowd`` present, 0 or 1, and used as COCO uses it."""
    if "iscrowd" not in ann:
        out.error("iscrowd", "annotation", ref, "iscrowd is missing (pycocotools needs it)")
        return
    crowd = ann["iscrowd"]
    if isinstance(crowd, bool) or crowd not in (0, 1):
        out.error("iscrowd", "annotation", ref, f"iscrowd {crowd!r} is not 0 or 1")
        return
    kind = segmentation_kind(ann.get("segmentation"))
    if crowd == 1 and kind != "rle-uncompressed":
        what = {"polygons": "polygons", "rle": "a compressed RLE"}.get(kind, "no crowd region")
        out.warning(
            "iscrowd-misuse",
            "annotation",
            ref,
            f"iscrowd=1 with {what}: trainers skip crowd instances and evaluation neither "
            "rewards nor penalizes them; COCO uses iscrowd=1 only for uncompressed-RLE crowd "
            "regions",
        )
    if crowd == 0 and kind == "rle-uncompressed":
        out.warning(
            "iscrowd-misuse",
            "annotation",
            ref,
            "iscrowd=0 with an uncompressed RLE (COCO uses that form for crowd regions)",
        )


def _check_extras(ann: dict[str, Any], ref: str, out: _Collector) -> None:
    """simgen's BOP-style extras, when present."""
    bbox, amodal = ann.get("bbox"), ann.get("bbox_amodal")
    if amodal is not None:
        if not is_box(amodal):
            out.error("schema", "annotation", ref, "bbox_amodal is not a list of 4 numbers")
        elif is_box(bbox) and (
            np.any(_corners(bbox)[:2] < _corners(amodal)[:2] - EXACT_TOL)
            or np.any(_corners(bbox)[2:] > _corners(amodal)[2:] + EXACT_TOL)
        ):
            out.error(
                "amodal",
                "annotation",
                ref,
                f"bbox {_fmt(bbox)} is not inside bbox_amodal {_fmt(amodal)}",
            )
    area, amodal_area = ann.get("area"), ann.get("area_amodal")
    if amodal_area is not None:
        if not is_number(amodal_area):
            out.error("schema", "annotation", ref, "area_amodal is not a number")
        elif is_number(area) and area > amodal_area + EXACT_TOL:
            out.error(
                "amodal",
                "annotation",
                ref,
                f"area {_fmt(area)} > area_amodal {_fmt(amodal_area)}",
            )
    visib = ann.get("visib_fract")
    if visib is not None:
        if not (is_number(visib) and 0.0 <= visib <= 1.0):
            out.error("schema", "annotation", ref, f"visib_fract {visib!r} is not in [0, 1]")
        elif is_number(area) and is_number(amodal_area) and amodal_area > 0:
            expected = float(area) / float(amodal_area)
            if abs(visib - expected) > 1e-6:
                out.error(
                    "visib-fract",
                    "annotation",
                    ref,
                    f"visib_fract {visib:.6g} != area / area_amodal = {expected:.6g}",
                )
    if "ignore" in ann and not isinstance(ann["ignore"], bool | int):
        out.error("schema", "annotation", ref, f"ignore {ann['ignore']!r} is not a bool")


def _check_annotation(
    ann: Any,
    index: int,
    images: dict[Any, dict[str, Any]],
    category_ids: set[Any],
    out: _Collector,
    report: ValidationReport,
    integer_boxes: bool,
) -> None:
    """Every per-annotation check."""
    ref = _ref(ann, index)
    if not isinstance(ann, dict):
        out.error("schema", "annotation", ref, "entry is not an object")
        return
    image = images.get(ann["image_id"]) if _is_int(ann.get("image_id")) else None
    if "image_id" not in ann:
        out.error("schema", "annotation", ref, "image_id is missing")
    elif image is None:
        out.error("unknown-image", "annotation", ref, f"image_id {ann['image_id']!r} not in images")
    cid = ann.get("category_id")
    if "category_id" not in ann:
        out.error("schema", "annotation", ref, "category_id is missing")
    elif cid == 0 and not isinstance(cid, bool):
        out.error(
            "category-zero",
            "annotation",
            ref,
            "category_id 0 is the background class in most trainers",
        )
    elif not (_is_int(cid) and cid in category_ids):
        out.error("unknown-category", "annotation", ref, f"category_id {cid!r} not in categories")
    area = ann.get("area")
    if "area" not in ann:
        out.error("area-type", "annotation", ref, "area is missing")
    elif not is_number(area):
        out.error(
            "area-type", "annotation", ref, f"area is {type(area).__name__} {area!r}, not a number"
        )
    elif area <= 0:
        out.error("area-nonpositive", "annotation", ref, f"area {_fmt(area)} is not positive")
    bbox = ann.get("bbox")
    polygons = segmentation_kind(ann.get("segmentation")) == "polygons"
    if not is_box(bbox):
        out.error("bbox-type", "annotation", ref, f"bbox {bbox!r} is not a list of 4 numbers")
    else:
        if bbox[2] <= 0 or bbox[3] <= 0:
            out.error("bbox-empty", "annotation", ref, f"bbox {_fmt(bbox)} has zero width/height")
        tol = POLYGON_BOX_TOL if polygons else EXACT_TOL
        if image is not None and not _bbox_inside(bbox, image["width"], image["height"], tol):
            out.error(
                "bbox-outside",
                "annotation",
                ref,
                f"bbox {_fmt(bbox)} is not inside the {image['width']}x{image['height']} image",
            )
        if integer_boxes and not all(_is_int(v) for v in bbox):
            out.warning(
                "bbox-float", "annotation", ref, f"bbox {_fmt(bbox)} is not integers (simgen's are)"
            )
    _check_crowd(ann, ref, out)
    if "segmentation" not in ann:
        out.warning("segmentation-missing", "annotation", ref, "no segmentation (boxes only)")
    elif image is not None:
        _check_mask(ann, ref, image, out, report)
    _check_extras(ann, ref, out)
    if "segmentation_amodal" in ann and image is not None:
        _check_amodal_mask(ann, ref, image, out)


def _check_amodal_mask(
    ann: dict[str, Any], ref: str, image: dict[str, Any], out: _Collector
) -> None:
    """``segmentation_amodal`` is an RLE of the image's size with ``area_amodal`` pixels that
    contains the visible mask."""
    from pycocotools import mask as mask_utils

    height, width = int(image["height"]), int(image["width"])
    amodal = ann["segmentation_amodal"]
    if not segmentation_kind(amodal).startswith("rle"):
        out.error("amodal", "annotation", ref, "segmentation_amodal is not an RLE")
        return
    size = [int(v) for v in amodal["size"]]
    if size != [height, width]:
        visible = ann.get("segmentation")
        if not (isinstance(visible, dict) and list(visible.get("size", [])) == size):
            out.error(
                "amodal",
                "annotation",
                ref,
                f"segmentation_amodal size {size} != image [height, width] [{height}, {width}]",
            )
        return  # otherwise the segmentation-size error already names the mismatch
    try:
        full = mask_utils.decode(annotation_rle(amodal, height, width)).astype(bool)
    except Exception as exc:
        out.error(
            "amodal", "annotation", ref, f"pycocotools cannot read segmentation_amodal: {exc}"
        )
        return
    if "area_amodal" in ann and int(full.sum()) != ann["area_amodal"]:
        out.error(
            "amodal",
            "annotation",
            ref,
            f"segmentation_amodal has {int(full.sum())} pixels, area_amodal is "
            f"{_fmt(ann['area_amodal'])}",
        )
    segmentation = ann.get("segmentation")
    if not segmentation_kind(segmentation).startswith("rle"):
        return  # polygons move edges by a pixel; missing masks are reported elsewhere
    try:
        visible = mask_utils.decode(annotation_rle(segmentation, height, width)).astype(bool)
    except Exception:
        return  # reported by the segmentation check
    if visible.shape != full.shape:
        return  # reported by the segmentation check
    outside = int((visible & ~full).sum())
    if outside:
        out.error(
            "amodal",
            "annotation",
            ref,
            f"{outside} pixels of the visible mask are outside segmentation_amodal",
        )


class ImageDecodeError(Exception):
    """An image file that does not decode completely."""


def decoded_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` of an image file, after decoding all of its pixels.

    PIL reads only the header when it opens a file; loading the pixels finds what the header
    hides: a file cut short, a broken compressed stream, a bad PNG chunk.

    Raises:
        ImageDecodeError: the file is not an image or does not decode completely (the
            decoder's reason, on one line).
    """
    from PIL import Image

    try:
        with Image.open(path) as handle:
            handle.load()
            return handle.size
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise ImageDecodeError(" ".join(str(exc).split()) or type(exc).__name__) from None


def _check_files(
    images: dict[Any, dict[str, Any]], folder: Path, out: _Collector, report: ValidationReport
) -> None:
    """Image files exist, decode completely (a truncated or corrupt file is an error naming
    it) and have the stated size."""
    for image_id, image in images.items():
        name = image.get("file_name")
        if not isinstance(name, str) or not name:
            continue
        path = folder / name
        if not path.is_file():
            out.error("image-missing", "image", image_id, f"file not found: {path}")
            continue
        try:
            width, height = decoded_size(path)
        except ImageDecodeError as exc:
            out.error("image-unreadable", "image", image_id, f"cannot read {path}: {exc}")
            continue
        report.images_checked += 1
        if (width, height) != (image["width"], image["height"]):
            out.error(
                "image-size",
                "image",
                image_id,
                f"{path.name} is {width}x{height}, stated {image['width']}x{image['height']}",
            )


def validate_coco(
    coco: dict[str, Any],
    *,
    source: str = "<coco>",
    images_dir: Path | None = None,
    integer_boxes: bool = False,
) -> ValidationReport:
    """Check a parsed COCO dict (see the module docstring for the list of checks).

    Args:
        coco: the parsed JSON object.
        source: name used in the summary line.
        images_dir: folder of the images; ``None`` skips the checks on image files.
        integer_boxes: warn about non-integer boxes (simgen datasets write integers).

    Returns:
        The report; problems are in check order: file, images, categories, annotations, files.
    """
    report = ValidationReport(source=source)
    out = _Collector(report)
    if not _check_structure(coco, out):
        return report
    report.images = len(coco["images"])
    report.annotations = len(coco["annotations"])
    report.categories = len(coco["categories"])
    _check_pycocotools(coco, out)
    images = _check_images(coco["images"], out)
    category_ids = _check_categories(coco["categories"], out)
    _check_annotation_ids(coco["annotations"], out)
    if not coco["annotations"]:
        out.warning("no-annotations", "file", "", "the file has no annotations")
    for index, ann in enumerate(coco["annotations"]):
        _check_annotation(ann, index, images, category_ids, out, report, integer_boxes)
    if images_dir is not None:
        _check_files(images, images_dir, out, report)
    return report


def validate_dataset(dataset: Dataset, *, check_files: bool = True) -> ValidationReport:
    """:func:`validate_coco` on a loaded dataset (simgen datasets must have integer boxes)."""
    return validate_coco(
        dataset.coco,
        source=str(dataset.coco_path),
        images_dir=dataset.images_dir if check_files else None,
        integer_boxes=dataset.root is not None,
    )
