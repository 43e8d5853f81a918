"""Dataset writers: one registry, one interface (:class:`simgen.formats.base.Writer`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from simgen.errors import SimgenError
from simgen.formats.base import Writer, WriterOptions
from simgen.formats.bop import BopWriter
from simgen.formats.coco import CocoWriter
from simgen.formats.kitti import KittiWriter
from simgen.formats.yolo import YoloSegWriter, YoloWriter

WRITERS: dict[str, Callable[[WriterOptions], Writer]] = {
    "coco": CocoWriter,
    "yolo": YoloWriter,
    "yolo-seg": YoloSegWriter,
    "bop": BopWriter,
    "kitti": KittiWriter,
}
"""Writer classes by name; each is constructed as ``cls(WriterOptions(...))``."""

DEFAULT_FORMATS = ("coco",)

MESH_FORMATS = ("bop", "kitti")
"""Formats written from the scenes' meshes and poses (not from labels alone): a dataset
without one mesh catalog (composites, merges) cannot have them."""


def mesh_formats(names: Iterable[str]) -> list[str]:
    """The names among ``names`` that need the mesh catalog (:data:`MESH_FORMATS`)."""
    return [name for name in names if name in MESH_FORMATS]


def parse_formats(items: Iterable[str] | None, *, source: str = "--format") -> list[str]:
    """Format names from ``["coco,yolo", "bop"]``-style items; COCO is always included
    (first), duplicates are dropped.

    Raises:
        SimgenError: an unknown name.
    """
    names = ["coco"]
    for item in items or ():
        for name in (part.strip().lower() for part in item.split(",")):
            if not name:
                continue
            if name not in WRITERS:
                raise SimgenError(
                    f"unknown format '{name}'; choose from {', '.join(WRITERS)}", field=source
                )
            if name not in names:
                names.append(name)
    return names


def create_writers(names: Iterable[str], options: WriterOptions) -> list[Writer]:
    """Instantiate the named writers (see :func:`parse_formats`)."""
    return [WRITERS[name](options) for name in names]


__all__ = [
    "DEFAULT_FORMATS",
    "MESH_FORMATS",
    "WRITERS",
    "BopWriter",
    "CocoWriter",
    "KittiWriter",
    "Writer",
    "WriterOptions",
    "YoloSegWriter",
    "YoloWriter",
    "create_writers",
    "mesh_formats",
    "parse_formats",
]
