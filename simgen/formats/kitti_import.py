"""Import KITTI object-detection frames (``image_2/`` photos, ``label_2/`` labels) as COCO.

Input: a folder holding ``image_2/NNNNNN.png`` and ``label_2/NNNNNN.txt`` (KITTI's
``training`` layout; a simgen ``DIR/kitti`` folder too). Output, laid out like a rendered
dataset::

    images/NNNNNN.png     copies of the photos
    annotations.json      COCO, written last

Boxes: KITTI's ``left top right bottom`` are the indices of a box's first and last pixel
columns and rows, so COCO's ``bbox`` is ``[left, top, right - left + 1, bottom - top + 1]``
(the inverse of :mod:`simgen.formats.kitti`; a simgen-written folder comes back exactly).
KITTI's boxes cover the whole object, hidden parts included, so ``bbox_amodal`` repeats
``bbox``; the KITTI fields of each object are kept under ``kitti``.

Classes: ``--map SRC=DST`` renames a type (``Van=Car`` merges vans into cars). KITTI's own
evaluation counts the neighbouring class of Car (Van) and of Pedestrian (Person_sitting) as
neither a hit nor a miss: unless a type is named in ``mapping``, :data:`KITTI_IGNORE_AS` does the
same here (a van becomes a ``Car`` instance flagged ``ignore``; ``ignore_as`` overrides it).
``DontCare`` regions neither reward nor penalize: each becomes a crowd region (``iscrowd`` 1,
``ignore`` true, an uncompressed-RLE rectangle of the whole pixels it covers, whose box and area
are that rectangle's) of every category, so a detection inside one
is not a false positive under pycocotools and ``simgen gap``.

Difficulty: with ``difficulty`` (``--difficulty easy|moderate|hard``), objects too small, too
occluded or too truncated for that KITTI level are flagged ``ignore`` as well, and the level is
recorded in the COCO ``info`` so that ``simgen gap`` ignores detections below its minimum height
(:mod:`simgen.formats.kitti_difficulty`). Without it every object is scored.

Every file is checked before anything is written: a label line with a field count other than
15 (16 with a result score), a field that is not a number, an inverted box or one outside its
image, a photo without its label file or a label file without its photo is one line naming the
file and line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simgen.dataset.layout import ANNOTATIONS_FILE, IMAGES_DIR
from simgen.dataset.lifecycle import (
    atomic_write_bytes,
    atomic_write_text,
    prepare_new,
    start_dataset,
)
from simgen.errors import SimgenError
from simgen.formats.kitti_difficulty import DIFFICULTIES, INFO_KEY, Difficulty
from simgen.io import dump_json

KITTI_TYPES = ("Car", "Van", "Truck", "Pedestrian", "Person_sitting", "Cyclist", "Tram", "Misc")
"""KITTI's object types, in its devkit's order (COCO category order of an import)."""

DONT_CARE = "DontCare"

KITTI_IGNORE_AS = {"Van": "Car", "Person_sitting": "Pedestrian"}
"""KITTI's evaluation rule: these types count as ignored instances of the named class."""

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
OUTPUT_ENTRIES = {IMAGES_DIR, ANNOTATIONS_FILE}
"""What an imported dataset directory holds; only such a directory is written into again."""

FIELDS = 15
"""Fields of a ground-truth label line (a result line adds a score)."""

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class KittiObject:
    """One label line.

    Attributes:
        type: KITTI type (``Car`` ... ``DontCare``).
        truncated: fraction outside the image, in [0, 1] (-1 for DontCare).
        occluded: 0, 1, 2 or 3 (-1 for DontCare).
        alpha: observation angle, radians.
        box: ``(left, top, right, bottom)`` pixel indices (inclusive).
        dimensions: ``(height, width, length)`` metres.
        location: ``(x, y, z)`` bottom-face centre, camera frame, metres.
        rotation_y: radians.
        line: 1-based line number in its file.
    """

    type: str
    truncated: float
    occluded: int
    alpha: float
    box: tuple[float, float, float, float]
    dimensions: tuple[float, float, float]
    location: tuple[float, float, float]
    rotation_y: float
    line: int


@dataclass(frozen=True)
class KittiFrame:
    """A photo and its label file."""

    image: Path
    label: Path
    width: int
    height: int
    objects: tuple[KittiObject, ...]


def parse_label_line(text: str, path: Path, line: int) -> KittiObject:
    """One KITTI label line (15 fields, or 16 with a score, which is dropped).

    Raises:
        SimgenError: wrong field count or a field that is not a number (names file and line).
    """
    fields = text.split()
    where = f"line {line}"
    if len(fields) not in (FIELDS, FIELDS + 1):
        raise SimgenError(
            f"{len(fields)} fields, KITTI labels have {FIELDS} (type truncated occluded alpha "
            "left top right bottom height width length x y z rotation_y)",
            file=path,
            field=where,
        )
    try:
        numbers = [float(v) for v in fields[1:FIELDS]]
    except ValueError as error:
        raise SimgenError(f"not a number: {error}", file=path, field=where) from None
    if not all(math.isfinite(v) for v in numbers):
        raise SimgenError("a field is not finite", file=path, field=where)
    if numbers[1] != int(numbers[1]):
        raise SimgenError(f"occluded must be an integer, got {fields[2]}", file=path, field=where)
    left, top, right, bottom = numbers[3:7]
    if right < left or bottom < top:
        raise SimgenError(
            f"inverted box (left {left}, top {top}, right {right}, bottom {bottom})",
            file=path,
            field=where,
        )
    return KittiObject(
        type=fields[0],
        truncated=numbers[0],
        occluded=int(numbers[1]),
        alpha=numbers[2],
        box=(left, top, right, bottom),
        dimensions=(numbers[7], numbers[8], numbers[9]),
        location=(numbers[10], numbers[11], numbers[12]),
        rotation_y=numbers[13],
        line=line,
    )


def check_inside(obj: KittiObject, width: int, height: int, path: Path) -> None:
    """A box must lie in the image: pixel centres are integers, so the image spans
    ``[-0.5, width - 0.5] x [-0.5, height - 0.5]``.

    Raises:
        SimgenError: the box reaches outside (names the file, line and image size).
    """
    left, top, right, bottom = obj.box
    if left < -0.5 or top < -0.5 or right > width - 0.5 or bottom > height - 0.5:
        raise SimgenError(
            f"box ({left}, {top}, {right}, {bottom}) is outside the {width}x{height} image",
            file=path,
            field=f"line {obj.line}",
        )


def read_label_file(path: Path) -> tuple[KittiObject, ...]:
    """Every non-blank line of a label file.

    Raises:
        SimgenError: an unreadable file or a bad line.
    """
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise SimgenError(f"cannot read the label file: {error}", file=path) from None
    return tuple(
        parse_label_line(line, path, number)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    )


def find_frames(root: Path) -> list[tuple[Path, Path]]:
    """``(image, label)`` pairs of ``root/image_2`` and ``root/label_2``, by file stem.

    Raises:
        SimgenError: a missing folder, no photos, a photo without a label file or a label
            file without a photo.
    """
    image_dir, label_dir = root / "image_2", root / "label_2"
    for folder in (image_dir, label_dir):
        if not folder.is_dir():
            raise SimgenError("not a KITTI folder (needs image_2/ and label_2/)", file=folder)
    images = {p.stem: p for p in sorted(image_dir.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}
    labels = {p.stem: p for p in sorted(label_dir.iterdir()) if p.suffix == ".txt"}
    if not images:
        raise SimgenError("no photos (.png, .jpg)", file=image_dir)
    for stem, image in images.items():
        if stem not in labels:
            raise SimgenError(
                f"photo without a label file ({label_dir / (stem + '.txt')})", file=image
            )
    for stem, label in labels.items():
        if stem not in images:
            raise SimgenError("label file without a photo in image_2/", file=label)
    return [(images[stem], labels[stem]) for stem in sorted(images)]


def read_frames(root: Path) -> list[KittiFrame]:
    """Every frame of a KITTI folder, validated (see the module docstring)."""
    from simgen.formats.bop_import import image_size

    frames = []
    for image, label in find_frames(root):
        width, height = image_size(image)
        objects = read_label_file(label)
        for obj in objects:
            check_inside(obj, width, height, label)
        frames.append(KittiFrame(image, label, width, height, objects))
    return frames


def class_rules(
    mapping: Mapping[str, str] | None, ignore_as: Mapping[str, str] | None
) -> tuple[dict[str, str], dict[str, str]]:
    """``(rename, ignore)``: KITTI types renamed, and types that become ignored instances of a
    class (:data:`KITTI_IGNORE_AS` unless a type is named in either argument).

    Raises:
        SimgenError: DontCare mapped, or a type both renamed and ignored.
    """
    rename, ignore = dict(mapping or {}), dict(ignore_as or {})
    for source in (*rename, *ignore):
        if source == DONT_CARE:
            raise SimgenError("DontCare regions are always ignore regions", field="--map")
    both = set(rename) & set(ignore)
    if both:
        raise SimgenError(f"{sorted(both)[0]} is both mapped and ignored", field="--map")
    for source, target in KITTI_IGNORE_AS.items():
        if source not in rename and source not in ignore:
            ignore[source] = target
    return rename, ignore


def categories_of(frames: Sequence[KittiFrame], rename: Mapping[str, str]) -> list[str]:
    """Category names: KITTI's types (renamed), then other types found, in order of first use."""
    names: list[str] = []
    found = [obj.type for frame in frames for obj in frame.objects if obj.type != DONT_CARE]
    for kitti in (*KITTI_TYPES, *found):
        name = rename.get(kitti, kitti)
        if name not in names:
            names.append(name)
    return names


def pixel_rectangle(box: Sequence[float], width: int, height: int) -> tuple[int, int, int, int]:
    """Half-open ``(x0, y0, x1, y1)`` of the whole pixels an inclusive KITTI box covers (its
    ends rounded to the nearest pixel, clipped to the image)."""
    left, top, right, bottom = box
    x0, y0 = max(math.floor(left + 0.5), 0), max(math.floor(top + 0.5), 0)
    x1 = min(math.floor(right + 0.5), width - 1) + 1
    y1 = min(math.floor(bottom + 0.5), height - 1) + 1
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def rectangle_rle(window: tuple[int, int, int, int], width: int, height: int) -> dict[str, Any]:
    """Uncompressed COCO RLE of a half-open pixel rectangle."""
    import numpy as np

    from simgen.formats.coco import rle_counts

    x0, y0, x1, y1 = window
    mask = np.zeros((height, width), dtype=bool)
    mask[y0:y1, x0:x1] = True
    return {"size": [height, width], "counts": rle_counts(mask, window)}


def coco_box(box: Sequence[float]) -> list[float]:
    """COCO ``[x, y, w, h]`` of an inclusive KITTI box."""
    left, top, right, bottom = box
    return [left, top, round(right - left + 1.0, 6), round(bottom - top + 1.0, 6)]


def kitti_box(coco: Sequence[float]) -> tuple[float, float, float, float]:
    """KITTI's inclusive ``(left, top, right, bottom)`` of a COCO ``[x, y, w, h]`` (the inverse
    of :func:`coco_box`)."""
    x, y, w, h = (float(v) for v in coco)
    return x, y, x + w - 1.0, y + h - 1.0


def _kitti_fields(obj: KittiObject) -> dict[str, Any]:
    return {
        "type": obj.type,
        "box": list(obj.box),
        "truncated": obj.truncated,
        "occluded": obj.occluded,
        "alpha": obj.alpha,
        "dimensions": list(obj.dimensions),
        "location": list(obj.location),
        "rotation_y": obj.rotation_y,
    }


def frame_annotations(
    frame: KittiFrame,
    category_ids: Mapping[str, int],
    rename: Mapping[str, str],
    ignore: Mapping[str, str],
    difficulty: Difficulty | None = None,
) -> list[dict[str, Any]]:
    """COCO annotations (without ids) of one frame; with ``difficulty``, objects that level
    does not score are flagged ``ignore``."""
    out = []
    for obj in frame.objects:
        bbox = coco_box(obj.box)
        area = round(bbox[2] * bbox[3], 6)
        if obj.type == DONT_CARE:  # a crowd region: its box and area are its pixels'
            x0, y0, x1, y1 = pixel_rectangle(obj.box, frame.width, frame.height)
            region = [x0, y0, x1 - x0, y1 - y0]
            segmentation = rectangle_rle((x0, y0, x1, y1), frame.width, frame.height)
            for category_id in category_ids.values():
                out.append(
                    {
                        "category_id": category_id,
                        "bbox": region,
                        "area": region[2] * region[3],
                        "segmentation": segmentation,
                        "iscrowd": 1,
                        "ignore": True,
                        "bbox_amodal": region,
                        "kitti": {"type": DONT_CARE, "box": list(obj.box)},
                    }
                )
            continue
        name = ignore.get(obj.type) or rename.get(obj.type, obj.type)
        flagged = obj.type in ignore or (
            difficulty is not None and not difficulty.scores(obj.truncated, obj.occluded, obj.box)
        )
        left, top, _, _ = obj.box
        right_edge, bottom_edge = left + bbox[2], top + bbox[3]
        out.append(
            {
                "category_id": category_ids[name],
                "bbox": bbox,
                "area": area,
                "segmentation": [
                    [left, top, right_edge, top, right_edge, bottom_edge, left, bottom_edge]
                ],
                "iscrowd": 0,
                "ignore": flagged,
                "bbox_amodal": bbox,
                "area_amodal": area,
                "kitti": _kitti_fields(obj),
            }
        )
    return out


def import_kitti(
    root: str | Path,
    out_dir: str | Path,
    *,
    mapping: Mapping[str, str] | None = None,
    ignore_as: Mapping[str, str] | None = None,
    difficulty: str | None = None,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Turn a KITTI folder into a COCO dataset at ``out_dir`` (see the module docstring).

    Args:
        root: folder with ``image_2/`` and ``label_2/``.
        out_dir: dataset directory (created).
        mapping: KITTI type -> category name (merges types).
        ignore_as: KITTI type -> category whose ignored instances it becomes.
        difficulty: ``easy``, ``moderate`` or ``hard``: objects beyond that KITTI level are
            flagged ``ignore`` too; ``None`` scores every object.
        progress: optional callback ``(done, total)``.

    Returns:
        ``{"images", "instances", "ignored", "dont_care", "annotations"}``.

    Raises:
        SimgenError: bad input or an unusable output path; nothing is written then.
    """
    from simgen.version import __version__

    root, out_dir = Path(root), Path(out_dir)
    if difficulty is not None and difficulty not in DIFFICULTIES:
        raise SimgenError(
            f"unknown difficulty {difficulty!r} (one of {', '.join(DIFFICULTIES)})",
            field="--difficulty",
        )
    level = DIFFICULTIES[difficulty] if difficulty is not None else None
    prepare_new(out_dir, overwritable=OUTPUT_ENTRIES, earlier="import")
    rename, ignore = class_rules(mapping, ignore_as)
    frames = read_frames(root)
    categories = categories_of(frames, rename)
    for target in ignore.values():
        if target not in categories:
            categories.append(target)
    category_ids = {name: i + 1 for i, name in enumerate(categories)}

    start_dataset(out_dir, (IMAGES_DIR,))
    if progress is not None:
        progress(0, len(frames))
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for index, frame in enumerate(frames):
        file_name = frame.image.name
        atomic_write_bytes(out_dir / IMAGES_DIR / file_name, frame.image.read_bytes())
        images.append(
            {
                "id": index + 1,
                "file_name": file_name,
                "width": frame.width,
                "height": frame.height,
                "kitti_frame": frame.image.stem,
            }
        )
        for ann in frame_annotations(frame, category_ids, rename, ignore, level):
            annotations.append({"id": len(annotations) + 1, "image_id": index + 1, **ann})
        if progress is not None:
            progress(index + 1, len(frames))
    coco = {
        "info": {
            "description": "KITTI object frames imported by simgen",
            "version": __version__,
            "num_images": len(images),
            "mapping": rename,
            "ignore_as": ignore,
            **({INFO_KEY: level.info()} if level is not None else {}),
        },
        "images": images,
        "annotations": annotations,
        "categories": [
            {"id": i, "name": n, "supercategory": "kitti"} for n, i in category_ids.items()
        ],
    }
    path = out_dir / ANNOTATIONS_FILE
    atomic_write_text(path, dump_json(coco))
    instances = [a for a in annotations if not a["iscrowd"]]
    return {
        "images": len(images),
        "instances": len(instances),
        "ignored": sum(bool(a["ignore"]) for a in instances),
        "dont_care": sum(1 for f in frames for o in f.objects if o.type == DONT_CARE),
        "annotations": path,
    }
