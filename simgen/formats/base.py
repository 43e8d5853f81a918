"""The writer interface.

The runner stores one JSON record per finished image in ``DIR/records/`` (written atomically).
A writer turns the ordered records of a dataset into a format's files in its ``finalize`` step,
so every format is derived from the same labels, whenever asked (after a render, after a
merge, or again later).

A record is a dict::

    {"image": {"index": int, "file_name": str, "width": int, "height": int, ...},
     "annotations": [{"category": str, "bbox": [x, y, w, h], "area": int,
                      "segmentation": {"size": [h, w], "counts": str}, "bbox_amodal": [...],
                      "area_amodal": int, "visib_fract": float, "ignore": bool,
                      "instance_id": int}, ...],
     "scene": SceneSample.to_dict(), "view_index": int}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from simgen.assets import Asset


@dataclass(frozen=True)
class WriterOptions:
    """What writers may need beyond the records.

    Attributes:
        info: COCO ``info`` block.
        coco_polygons: COCO segmentations as polygons instead of RLE.
        assets: the dataset's mesh catalog (the BOP writer rasterizes amodal masks from it).
    """

    info: dict[str, Any] = field(default_factory=dict)
    coco_polygons: bool = False
    assets: Sequence[Asset] | None = None

    def mesh_catalog(self, writer: str, out_dir: Path) -> Sequence[Asset]:
        """:attr:`assets`, which the ``writer`` format (written from meshes and poses) needs.

        Raises:
            SimgenError: no catalog was given.
        """
        if self.assets is None:
            from simgen.errors import SimgenError

            raise SimgenError(
                f"the {writer} writer needs the dataset's mesh catalog (render with its config)",
                file=out_dir,
                field="--format",
            )
        return self.assets


class Writer(Protocol):
    """Writes a dataset format from image records.

    Constructed as ``WriterClass(options)`` with a :class:`WriterOptions`.
    """

    name: str

    def finalize(
        self, out_dir: Path, records: Sequence[dict[str, Any]], categories: Sequence[str]
    ) -> Path:
        """Write the format's files under ``out_dir``; returns the main file written."""
        ...
