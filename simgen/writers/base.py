"""The writer interface.

The runner stores one JSON record per finished image in ``DIR/records/`` (written atomically).
A writer turns the ordered records of a dataset into a format's files in its ``finalize`` step,
so every format is derived from the same labels.

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
from pathlib import Path
from typing import Any, Protocol


class Writer(Protocol):
    """Writes a dataset format from image records."""

    name: str

    def finalize(
        self, out_dir: Path, records: Sequence[dict[str, Any]], categories: Sequence[str]
    ) -> Path:
        """Write the format's files under ``out_dir``; returns the main file written."""
        ...
