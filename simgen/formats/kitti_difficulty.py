"""KITTI's difficulty levels: which objects its benchmark scores, and which detections it counts.

KITTI scores each class at three levels (its devkit's ``cleanData``). An object of the class
that is too small, too occluded or too truncated for the level is *ignored*: neither a hit nor
a miss, a detection on it neither a true nor a false positive. A detection lower than the
level's minimum height is ignored too. Heights are KITTI's: ``bottom - top`` of its inclusive
pixel box (a COCO box's height minus one).

=========  ==================  =============  ==============
level      min. height (px)    max. occluded  max. truncated
=========  ==================  =============  ==============
easy       40                  0              0.15
moderate   25                  1              0.30
hard       25                  2              0.50
=========  ==================  =============  ==============

An object is scored at a level when its height is at least the minimum, its occlusion level at
most the maximum and its truncation at most the maximum; a detection counts when its height is
at least the minimum (both as in the C++ devkit's ``cleanData``; its Python ports ignore an object
exactly at the minimum). ``simgen import-kitti --difficulty`` flags the
other objects ``ignore`` and records the level under the COCO ``info`` key
:data:`INFO_KEY`, from which :func:`simgen.gap.evaluate.evaluate` takes the detections' minimum
height.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

INFO_KEY = "kitti_difficulty"
"""COCO ``info`` key of an import's difficulty level (:meth:`Difficulty.info`)."""


@dataclass(frozen=True)
class Difficulty:
    """One KITTI difficulty level.

    Attributes:
        name: ``easy``, ``moderate`` or ``hard``.
        min_height: pixels, KITTI's ``bottom - top``.
        max_occluded: KITTI's occlusion level, 0 (fully visible) to 3 (unknown).
        max_truncated: fraction of the object outside the image, in [0, 1].
    """

    name: str
    min_height: float
    max_occluded: int
    max_truncated: float

    def scores(self, truncated: float, occluded: int, box: Sequence[float]) -> bool:
        """Whether an object with KITTI's ``truncated``, ``occluded`` and inclusive
        ``(left, top, right, bottom)`` box is scored at this level (else it is ignored)."""
        height = box[3] - box[1]
        return (
            occluded <= self.max_occluded
            and truncated <= self.max_truncated
            and height >= self.min_height
        )

    def info(self) -> dict[str, Any]:
        """The level as recorded in a COCO ``info`` (under :data:`INFO_KEY`)."""
        return asdict(self)


DIFFICULTIES = {
    "easy": Difficulty("easy", 40.0, 0, 0.15),
    "moderate": Difficulty("moderate", 25.0, 1, 0.30),
    "hard": Difficulty("hard", 25.0, 2, 0.50),
}
"""KITTI's three levels, by name (the devkit's ``MIN_HEIGHT``, ``MAX_OCCLUSION``,
``MAX_TRUNCATION``)."""


def recorded_level(coco: Mapping[str, Any]) -> dict[str, Any] | None:
    """The difficulty level a COCO dict was imported at (:meth:`Difficulty.info`), else
    ``None``."""
    level = (coco.get("info") or {}).get(INFO_KEY)
    if not isinstance(level, Mapping) or "min_height" not in level:
        return None
    return dict(level)


def min_detection_height(coco: Mapping[str, Any]) -> float | None:
    """The minimum detection height (KITTI's ``bottom - top``, pixels) of a COCO dict imported
    with a difficulty level, else ``None`` (every detection counts)."""
    level = recorded_level(coco)
    return None if level is None else float(level["min_height"])
