"""Merge simgen datasets (e.g. rendered on different machines) into one, deterministically.

Image ``i`` of input ``d`` becomes image ``offset_d + i`` of the output, where ``offset_d`` is
the number of images in the inputs before it: ids are renumbered in input order, so they are
unique and depend only on the inputs and their order. Annotation ids run 1, 2, … in image order;
categories are merged by name in order of first appearance. Image (and depth) files are linked
or copied under their new names, records are carried over with their new index and a ``source``
entry (input position and old index), and each input's ``config.yaml`` is kept as
``sources/DDD/config.yaml``. The output has no ``config.yaml`` of its own (it holds several),
so ``simgen render`` will not write into it.

The output must be a new or empty folder, or an unfinished merge (one that stopped before its
``annotations.json``, e.g. on a full disk): merging again into it writes the same files and
finishes it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simgen.dataset.layout import (
    CONFIG_FILE,
    DEPTH_DIR,
    IMAGES_DIR,
    RECORDS_DIR,
    SOURCES_DIR,
    annotations_path,
    image_file_name,
    image_path,
    record_path,
    record_path_of,
    source_dir,
)
from simgen.dataset.lifecycle import (
    atomic_write_text,
    finalize_dataset,
    output_errors,
    prepare_new,
    start_dataset,
)
from simgen.dataset.locate import images_dir_for
from simgen.dataset.versions import upgrade_record
from simgen.errors import SimgenError
from simgen.io import dump_json
from simgen.version import __version__

UNFINISHED_MERGE = (IMAGES_DIR, DEPTH_DIR, RECORDS_DIR, SOURCES_DIR)
"""What a merge writes before its format files: a folder holding only these is merged into
again."""


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
    images_dir: Path
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
    annotations = annotations_path(root)
    coco = _read_json(annotations)
    for key in ("images", "annotations", "categories"):
        if not isinstance(coco.get(key), list):
            raise SimgenError("not a COCO file", file=annotations, field=key)
    images_dir = images_dir_for(annotations, coco)
    records = []
    for image in sorted(coco["images"], key=lambda im: im["id"]):
        path = record_path_of(root, image["file_name"])
        record = _read_json(path)
        if not isinstance(record, dict):
            raise SimgenError("expected a JSON object", file=path)
        record = upgrade_record(record, source=path)
        if not (images_dir / image["file_name"]).is_file():
            raise SimgenError("image file missing", file=images_dir / image["file_name"])
        records.append(record)
    return _Input(root, images_dir, coco, records)


def _check_output(out_dir: Path, inputs: Sequence[Path]) -> None:
    resolved = out_dir.resolve()
    for root in inputs:
        if root.resolve() == resolved:
            raise SimgenError("the output is one of the inputs", file=out_dir, field="--out")
    prepare_new(out_dir, overwritable=UNFINISHED_MERGE, earlier="unfinished merge")


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
        OutputError: the output could not be written (no space left, no permission ...);
            merging again into the same folder finishes it.
    """
    from simgen.formats import WriterOptions, create_writers, mesh_formats, parse_formats
    from simgen.formats.files import link_or_copy

    roots = [Path(d) for d in datasets]
    if not roots:
        raise SimgenError("give at least one dataset to merge", field="DATASETS")
    out_dir = Path(out_dir)
    names = parse_formats(formats)
    if mesh_formats(names):
        raise SimgenError(
            f"{mesh_formats(names)[0].upper()} output needs one mesh catalog; write it per "
            "input dataset",
            field="--format",
        )
    _check_output(out_dir, roots)
    inputs = [_read_input(root) for root in roots]

    categories: list[str] = []
    for item in inputs:
        for category in sorted(item.coco["categories"], key=lambda c: c["id"]):
            if category["name"] not in categories:
                categories.append(category["name"])

    start_dataset(out_dir, (IMAGES_DIR, RECORDS_DIR, SOURCES_DIR))
    merged: list[dict[str, Any]] = []
    sources = []
    for position, item in enumerate(inputs):
        folder = source_dir(out_dir, position)
        config = item.root / CONFIG_FILE
        with output_errors(folder):
            folder.mkdir(parents=True, exist_ok=True)
            if config.is_file():
                link_or_copy(config, folder / CONFIG_FILE)
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
            old_name = record["image"]["file_name"]
            target = image_path(out_dir, index)
            with output_errors(target):
                link_or_copy(item.images_dir / old_name, target)
            depth = item.root / DEPTH_DIR / old_name
            if depth.is_file():
                target = out_dir / DEPTH_DIR / image_file_name(index)
                with output_errors(target):
                    target.parent.mkdir(exist_ok=True)
                    link_or_copy(depth, target)
            source = {"dataset": position, "index": int(record["image"]["index"])}
            if "source" in record:
                source["source"] = record["source"]
            new = {
                **record,
                "image": {**record["image"], "index": index, "file_name": image_file_name(index)},
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
    writers = create_writers(names, WriterOptions(info=info, coco_polygons=coco_polygons))
    finalize_dataset(out_dir, writers, merged, categories)
    annotations = sum(len(r["annotations"]) for r in merged)
    return MergeSummary(out_dir, len(merged), annotations, categories)
