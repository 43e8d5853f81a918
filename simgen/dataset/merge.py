"""Merge simgen datasets (e.g. rendered on different machines) into one, deterministically.

Image ``i`` of input ``d`` becomes image ``offset_d + i`` of the output, where ``offset_d`` is
the number of images in the inputs before it: ids are renumbered in input order, so they are
unique and depend only on the inputs and their order. Annotation ids run 1, 2, … in image order;
categories are merged by name in order of first appearance. Image (and depth) files are linked
or copied under their new names, records are carried over with their new index and a ``source``
entry (input position and old index), and each input's ``config.yaml`` is kept as
``sources/DDD/config.yaml``. The output has no ``config.yaml`` of its own (it holds several),
so ``simgen render`` will not write into it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simgen import __version__
from simgen.errors import SimgenError
from simgen.io import atomic_write_text, dump_json
from simgen.produce.shards import image_name, record_path

ANNOTATIONS_FILE = "annotations.json"
SOURCES_DIR = "sources"


@dataclass(frozen=True)
class MergeSummary:
    """What a merge wrote."""

    out_dir: Path
    images: int
    annotations: int
    categories: list[str]


@dataclass(frozen=True)
class _Input:
    root: Path
    coco: dict[str, Any]
    records: list[dict[str, Any]]


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise SimgenError("missing (is this a finished simgen dataset?)", file=path)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise SimgenError(f"invalid JSON: {exc}", file=path) from None


def _read_input(root: Path) -> _Input:
    """A finished dataset: its COCO file and its records in image-id order."""
    if not root.is_dir():
        raise SimgenError("not a directory", file=root)
    coco = _read_json(root / ANNOTATIONS_FILE)
    for key in ("images", "annotations", "categories"):
        if not isinstance(coco.get(key), list):
            raise SimgenError("not a COCO file", file=root / ANNOTATIONS_FILE, field=key)
    records = []
    for image in sorted(coco["images"], key=lambda im: im["id"]):
        stem = Path(image["file_name"]).stem
        record = _read_json(root / "records" / f"{stem}.json")
        if not (root / "images" / image["file_name"]).is_file():
            raise SimgenError("image file missing", file=root / "images" / image["file_name"])
        records.append(record)
    return _Input(root, coco, records)


def _check_output(out_dir: Path, inputs: Sequence[Path]) -> None:
    resolved = out_dir.resolve()
    for root in inputs:
        if root.resolve() == resolved:
            raise SimgenError("the output is one of the inputs", file=out_dir, field="--out")
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise SimgenError("output exists and is not an empty directory", file=out_dir)


def merge_datasets(
    datasets: Sequence[str | Path],
    out_dir: str | Path,
    *,
    formats: Sequence[str] = (),
    coco_polygons: bool = False,
) -> MergeSummary:
    """Merge finished simgen datasets into a new directory ``out_dir``.

    Args:
        datasets: dataset directories, in merge order.
        out_dir: a new or empty directory.
        formats: extra writers (``yolo``, ``yolo-seg``); COCO is always written. BOP needs a
            single mesh catalog and is not available for merged datasets.
        coco_polygons: COCO segmentations as polygons instead of RLE.

    Raises:
        SimgenError: no inputs, an unreadable or unfinished input, or an unusable output.
    """
    from simgen.formats import WriterOptions, create_writers, parse_formats
    from simgen.formats.files import link_or_copy

    roots = [Path(d) for d in datasets]
    if not roots:
        raise SimgenError("give at least one dataset to merge", field="DATASETS")
    out_dir = Path(out_dir)
    names = parse_formats(formats)
    if "bop" in names:
        raise SimgenError(
            "BOP output needs one mesh catalog; write it per input dataset", field="--format"
        )
    _check_output(out_dir, roots)
    inputs = [_read_input(root) for root in roots]

    categories: list[str] = []
    for item in inputs:
        for category in sorted(item.coco["categories"], key=lambda c: c["id"]):
            if category["name"] not in categories:
                categories.append(category["name"])

    for sub in ("images", "records", SOURCES_DIR):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    merged: list[dict[str, Any]] = []
    sources = []
    for position, item in enumerate(inputs):
        source_dir = out_dir / SOURCES_DIR / f"{position:03d}"
        source_dir.mkdir(parents=True, exist_ok=True)
        config = item.root / "config.yaml"
        if config.is_file():
            link_or_copy(config, source_dir / "config.yaml")
        sources.append(
            {
                "position": position,
                "description": item.coco.get("info", {}).get("description", ""),
                "seed": item.coco.get("info", {}).get("seed"),
                "num_images": len(item.records),
            }
        )
        for record in item.records:
            index = len(merged)
            stem = image_name(index)
            old_name = record["image"]["file_name"]
            link_or_copy(item.root / "images" / old_name, out_dir / "images" / f"{stem}.png")
            depth = item.root / "depth" / old_name
            if depth.is_file():
                (out_dir / "depth").mkdir(exist_ok=True)
                link_or_copy(depth, out_dir / "depth" / f"{stem}.png")
            source = {"dataset": position, "index": int(record["image"]["index"])}
            if "source" in record:
                source["source"] = record["source"]
            new = {
                **record,
                "image": {**record["image"], "index": index, "file_name": f"{stem}.png"},
                "source": source,
            }
            atomic_write_text(record_path(out_dir, index), dump_json(new))
            merged.append(new)

    info = {
        "description": f"simgen merge of {len(inputs)} datasets",
        "version": __version__,
        "num_images": len(merged),
        "sources": sources,
    }
    options = WriterOptions(info=info, coco_polygons=coco_polygons)
    for writer in create_writers(names, options):
        writer.finalize(out_dir, merged, categories)
    annotations = sum(len(r["annotations"]) for r in merged)
    return MergeSummary(out_dir, len(merged), annotations, categories)
