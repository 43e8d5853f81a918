"""The renderer interface: a pure function of a sampled scene and a view index."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from simgen.scene import SceneSample

AMODAL_BITS = 32
"""Instances per word of :attr:`RenderOutput.amodal_words` (uint32)."""


@dataclass(frozen=True)
class RenderOutput:
    """What one camera view yields.

    Attributes:
        rgb: (H, W, 3) uint8 colour image, or ``None`` when only labels were rendered.
        depth: (H, W) float32 metres along the camera's z axis, 0 where nothing was hit, or
            ``None`` when only labels were rendered.
        instance_ids: (H, W) int32 visible instance id per pixel; 0 is background (the ground
            and anything unlabeled). ``None`` only from a renderer-only benchmark render.
        amodal_words: full (amodal) silhouettes as bit planes, one (H, W) uint32 array per
            :data:`AMODAL_BITS` instances, or empty when the backend does not render them.
        amodal_slots: instance id -> slot ``k`` (bit ``k % AMODAL_BITS`` of
            ``amodal_words[k // AMODAL_BITS]``).
    """

    rgb: np.ndarray | None = field(repr=False)
    depth: np.ndarray | None = field(repr=False)
    instance_ids: np.ndarray | None = field(repr=False)
    amodal_words: tuple[np.ndarray, ...] = field(default=(), repr=False)
    amodal_slots: dict[int, int] = field(default_factory=dict, repr=False)

    def amodal_mask(
        self, instance_id: int, window: tuple[int, int, int, int] | None = None
    ) -> np.ndarray | None:
        """(H, W) bool full silhouette of an instance inside the image (or its crop to the
        half-open ``window`` ``(x0, y0, x1, y1)``), or ``None`` when the backend did not
        render it."""
        slot = self.amodal_slots.get(instance_id)
        if slot is None:
            return None
        word, bit = divmod(slot, AMODAL_BITS)
        plane = self.amodal_words[word]
        if window is not None:
            plane = plane[window[1] : window[3], window[0] : window[2]]
        return (plane & np.uint32(1 << bit)) != 0


class Renderer(Protocol):
    """A rendering backend. Created once per worker and reused across scenes.

    Every member the production code uses is listed here, and every backend of
    :func:`simgen.render.create_renderer` implements all of them (a backend with nothing to do
    for one documents a no-op), so callers never probe a renderer for what it has. Usable as
    a context manager that closes it.
    """

    def render(
        self,
        sample: SceneSample,
        view_index: int,
        *,
        color: bool = True,
        depth: bool = True,
        labels: bool = True,
    ) -> RenderOutput:
        """Render view ``view_index`` of ``sample`` (``color=False``: labels only;
        ``depth=False``: no depth image; ``labels=False``: image only, for benchmarks)."""
        ...

    def warm_shaders(self, light_counts: Sequence[tuple[int, int, int]]) -> None:
        """Prepare, ahead of need, whatever the backend compiles per (directional, spot, point)
        light count of ``light_counts`` (the counts a config can draw), so that a long run
        pays it at start; the pixels are the same either way."""
        ...

    def close(self) -> None:
        """Release GL contexts and other resources."""
        ...

    def __enter__(self) -> Renderer:
        """The renderer itself."""
        ...

    def __exit__(self, *exc: object) -> None:
        """:meth:`close` it."""
        ...
