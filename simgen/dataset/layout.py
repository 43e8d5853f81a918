"""Names and paths inside a dataset folder: the one place that spells them.

A dataset folder (``DIR``) holds::

    config.yaml               CONFIG_FILE: the resolved config (render and composite)
    images/NNNNNN.png         IMAGES_DIR: image ``i`` is ``image_name(i)`` + ``.png``
    depth/NNNNNN.png          DEPTH_DIR: uint16 depth in millimetres, when asked for
    records/NNNNNN.json       RECORDS_DIR: labels + provenance of image ``i`` (written after it)
    annotations.json          ANNOTATIONS_FILE: COCO, written once every image is done
    sources/DDD/config.yaml   SOURCES_DIR: the config of merge input ``DDD`` (merged datasets)
    gap.json                  GAP_FILE: results of ``simgen gap`` for this dataset
    yolo/, yolo-seg/, bop/    other formats, owned by their writers (:mod:`simgen.formats`)

Imported datasets (``simgen import-bop``) keep their images' own names under ``images/``.
"""

from __future__ import annotations

from pathlib import Path

CONFIG_FILE = "config.yaml"
ANNOTATIONS_FILE = "annotations.json"
IMAGES_DIR = "images"
DEPTH_DIR = "depth"
RECORDS_DIR = "records"
SOURCES_DIR = "sources"
GAP_FILE = "gap.json"
IMAGE_SUFFIX = ".png"
"""Suffix of the images (and depth images) simgen writes."""


def image_name(index: int) -> str:
    """``NNNNNN``: the file stem of image ``index`` (its image, depth and record files)."""
    return f"{index:06d}"


def image_file_name(index: int) -> str:
    """``NNNNNN.png``: the ``file_name`` of image ``index`` in COCO and in its record."""
    return f"{image_name(index)}{IMAGE_SUFFIX}"


def image_path(root: Path, index: int) -> Path:
    """Path of image ``index``'s image file."""
    return root / IMAGES_DIR / image_file_name(index)


def depth_path(root: Path, index: int) -> Path:
    """Path of image ``index``'s depth file."""
    return root / DEPTH_DIR / image_file_name(index)


def record_path(root: Path, index: int) -> Path:
    """Path of image ``index``'s record; its presence marks the image finished."""
    return root / RECORDS_DIR / f"{image_name(index)}.json"


def record_path_of(root: Path, file_name: str) -> Path:
    """Path of the record of the image named ``file_name`` (an ``images`` entry's)."""
    return root / RECORDS_DIR / f"{Path(file_name).stem}.json"


def config_path(root: Path) -> Path:
    """Path of the dataset's ``config.yaml``."""
    return root / CONFIG_FILE


def annotations_path(root: Path) -> Path:
    """Path of the dataset's COCO file."""
    return root / ANNOTATIONS_FILE


def source_dir(root: Path, position: int) -> Path:
    """Folder of merged input ``position`` (``sources/DDD``), which keeps its config."""
    return root / SOURCES_DIR / f"{position:03d}"
