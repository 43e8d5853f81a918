"""Where a DATASET argument's files are: one rule, used by every command that reads a dataset.

A DATASET argument (``simgen validate``, ``stats``, ``preview``, ``report``, ``gap``,
``composite --instances``, ``merge``, ``replay``) is a dataset folder or a COCO JSON file:

1. **Annotations.** A folder's ``annotations.json``; a folder without one is an error (commands
   that also take a folder of images with mask PNGs, :mod:`simgen.formats.mask_folder`, read
   such a folder as that instead). A file is the COCO file itself.
2. **Images** (the folder the ``file_name`` of each image is relative to): the folder given
   with ``--images`` where a command takes it; otherwise the first of ``images/`` beside the
   COCO file and the COCO file's own folder that holds the *first* listed image; when
   neither holds it (or no image is listed), ``images/`` if it is a folder, else the COCO
   file's folder. So ``DIR`` and ``DIR/annotations.json`` name the same images, a simgen
   dataset's images are in ``DIR/images``, and a COCO file whose ``file_name`` values are
   relative to its own folder (``images/x.jpg`` or ``x.jpg``) works as well.
3. **simgen root.** The COCO file's folder is a simgen dataset (config, records, provenance)
   when it holds ``config.yaml``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simgen.dataset.layout import ANNOTATIONS_FILE, CONFIG_FILE, IMAGES_DIR
from simgen.errors import SimgenError


@dataclass(frozen=True)
class DatasetFiles:
    """Where a dataset's files are (see the module docstring).

    Attributes:
        annotations: the COCO JSON file.
        images_dir: the folder the images' ``file_name`` values are relative to.
        root: the simgen dataset folder (it holds ``config.yaml``), or ``None``.
    """

    annotations: Path
    images_dir: Path
    root: Path | None


def annotations_file(path: str | Path) -> Path:
    """The COCO file of a DATASET argument (rule 1).

    Raises:
        SimgenError: the path does not exist, or is a folder without ``annotations.json``.
    """
    path = Path(path)
    if path.is_dir():
        annotations = path / ANNOTATIONS_FILE
        if not annotations.is_file():
            raise SimgenError(f"directory holds no {ANNOTATIONS_FILE}", file=path)
        return annotations
    if not path.exists():
        raise SimgenError("file not found", file=path)
    return path


def first_file_name(coco: Any) -> str:
    """The ``file_name`` of the first ``images`` entry of a parsed COCO file (``""``: none)."""
    images = coco.get("images") if isinstance(coco, dict) else None
    if isinstance(images, list) and images and isinstance(images[0], dict):
        name = images[0].get("file_name")
        return name if isinstance(name, str) else ""
    return ""


def images_dir_for(annotations: Path, coco: Any) -> Path:
    """The images folder of a COCO file (rule 2, without ``--images``).

    Args:
        annotations: the COCO file.
        coco: its parsed contents (only the first image's ``file_name`` is read).
    """
    beside, own = annotations.parent / IMAGES_DIR, annotations.parent
    first = first_file_name(coco)
    if first:
        for folder in (beside, own):
            if (folder / first).is_file():
                return folder
    return beside if beside.is_dir() else own


def simgen_root(annotations: Path) -> Path | None:
    """The simgen dataset folder of a COCO file, or ``None`` (rule 3)."""
    folder = annotations.parent
    return folder if (folder / CONFIG_FILE).is_file() else None


def locate(path: str | Path, coco: Any, images: str | Path | None = None) -> DatasetFiles:
    """Where the files of the DATASET argument ``path`` are.

    Args:
        path: a dataset folder or a COCO file.
        coco: the parsed COCO file (``annotations_file(path)``'s contents).
        images: the ``--images`` folder, when given.
    """
    annotations = annotations_file(path)
    folder = Path(images) if images is not None else images_dir_for(annotations, coco)
    return DatasetFiles(annotations, folder, simgen_root(annotations))


def read_coco(path: Path) -> dict[str, Any]:
    """Load a COCO JSON file with one-line errors for missing files and malformed content.

    Raises:
        SimgenError: a missing file, invalid JSON, or no ``images``, ``annotations`` and
            ``categories`` lists.
    """
    if not path.is_file():
        raise SimgenError("file not found", file=path)
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SimgenError(f"invalid JSON: {exc}", file=path) from None
    if not isinstance(data, dict):
        raise SimgenError("expected a JSON object", file=path)
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise SimgenError("missing or not a list", file=path, field=key)
    return data


def read_dataset(path: str | Path) -> tuple[dict[str, Any], DatasetFiles]:
    """``(coco, files)`` of a DATASET argument: its COCO file read once (:func:`read_coco`)
    and where its files are (:func:`locate`)."""
    coco = read_coco(annotations_file(path))
    return coco, locate(path, coco)


def resolve_coco(path: str | Path) -> tuple[Path, Path]:
    """``(COCO file, images folder)`` of a DATASET argument (reads the COCO file; callers that
    need its contents too use :func:`read_dataset`, which reads it once)."""
    _, files = read_dataset(path)
    return files.annotations, files.images_dir
