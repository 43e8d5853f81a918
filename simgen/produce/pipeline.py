"""One image: render a view of a settled scene, label it, apply effects, encode the PNG.

These functions are pure functions of their inputs (the renderer is deterministic), which is
what lets any worker render any image and :mod:`simgen.produce.replay` re-render one from its
record.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simgen.assets import Asset
from simgen.config import SceneConfig
from simgen.formats.coco import instance_annotation
from simgen.io import encode_png
from simgen.labels import annotate
from simgen.rng import view_rng


@dataclass(frozen=True)
class ViewResult:
    """One finished image.

    Attributes:
        rgb: (H, W, 3) uint8 final pixels (effects applied).
        png: PNG bytes of ``rgb``.
        depth: (H, W) float32 metres, or ``None``.
        annotations: per-image annotations (:func:`simgen.formats.coco.instance_annotation`).
    """

    rgb: np.ndarray
    png: bytes
    depth: np.ndarray | None
    annotations: list[dict[str, Any]]


def draw_effects(config: SceneConfig, scene_index: int, view_index: int) -> list[dict[str, Any]]:
    """The post-render effects drawn for one image from its own Generator (JSON-ready)."""
    if not config.effects:
        return []
    from simgen.effects import sample_effects

    return sample_effects(config.effects, view_rng(config.seed, scene_index, view_index))


def render_view(
    config: SceneConfig,
    assets: Sequence[Asset],
    renderer,
    sample,
    view_index: int,
    effects: Sequence[dict[str, Any]],
    stages: dict[str, float] | None = None,
) -> ViewResult:
    """Render, label and post-process one view: a pure function of its inputs.

    Labels come from the instance map, so pixel-only effects cannot change them. When
    ``stages`` is given, seconds spent are added to its ``render``, ``labels``, ``effects``
    and ``write`` (PNG encoding) entries.
    """
    t0 = time.perf_counter()
    output = renderer.render(sample, view_index, depth=config.output.depth)
    t1 = time.perf_counter()
    instances = annotate(
        sample, view_index, output, assets, visib_threshold=config.output.visib_threshold
    )
    annotations = [instance_annotation(inst) for inst in instances]
    t2 = time.perf_counter()
    rgb = output.rgb
    if effects:
        from simgen.effects import apply_effects

        rgb = apply_effects(rgb, effects)
    t3 = time.perf_counter()
    png = encode_png(rgb, config.output.png_compression)
    if stages is not None:
        stages["render"] += t1 - t0
        stages["labels"] += t2 - t1
        stages["effects"] += t3 - t2
        stages["write"] += time.perf_counter() - t3
    return ViewResult(rgb=rgb, png=png, depth=output.depth, annotations=annotations)
