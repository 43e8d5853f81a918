"""The renderer interface: a pure function of a sampled scene and a view index."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from simgen.scene import SceneSample


@dataclass(frozen=True)
class RenderOutput:
    """What one camera view yields.

    Attributes:
        rgb: (H, W, 3) uint8 colour image, or ``None`` when only labels were rendered.
        depth: (H, W) float32 metres along the camera's z axis, 0 where nothing was hit, or
            ``None`` when only labels were rendered.
        instance_ids: (H, W) int32 visible instance id per pixel; 0 is background (the ground
            and anything unlabeled).
    """

    rgb: np.ndarray | None = field(repr=False)
    depth: np.ndarray | None = field(repr=False)
    instance_ids: np.ndarray = field(repr=False)


class Renderer(Protocol):
    """A rendering backend. Created once per worker and reused across scenes."""

    def render(self, sample: SceneSample, view_index: int, *, color: bool = True) -> RenderOutput:
        """Render view ``view_index`` of ``sample`` (``color=False``: instance ids only)."""
        ...

    def close(self) -> None:
        """Release GL contexts and other resources."""
        ...
