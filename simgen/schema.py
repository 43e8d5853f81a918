"""Shared pydantic building blocks for configs: a strict base model and range types.

Kept apart from :mod:`simgen.config` so that modules defining their own config sections
(textures, effects) can use them without importing the whole scene config.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

PYBULLET_DATA_PREFIX = "pybullet_data:"
"""Mesh paths starting with this prefix are resolved inside the ``pybullet_data`` package."""

MAX_OBJECTS = 250
"""Upper bound on labeled objects in one scene (instance ids are stored in one 8-bit channel)."""


def _ordered(value: tuple[float, float]) -> tuple[float, float]:
    if value[0] > value[1]:
        raise ValueError(f"min > max ({value[0]} > {value[1]})")
    return value


FloatRange = Annotated[tuple[float, float], AfterValidator(_ordered)]
"""``[min, max]``, sampled uniformly; ``min == max`` fixes the value."""

PositiveRange = Annotated[
    tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]], AfterValidator(_ordered)
]
UnitRange = Annotated[
    tuple[Annotated[float, Field(ge=0, le=1)], Annotated[float, Field(ge=0, le=1)]],
    AfterValidator(_ordered),
]
CountRange = Annotated[
    tuple[Annotated[int, Field(ge=0, le=MAX_OBJECTS)], Annotated[int, Field(ge=0, le=MAX_OBJECTS)]],
    AfterValidator(_ordered),
]
RGB = tuple[
    Annotated[float, Field(ge=0, le=1)],
    Annotated[float, Field(ge=0, le=1)],
    Annotated[float, Field(ge=0, le=1)],
]
"""A colour ``[r, g, b]`` in [0, 1], **sRGB** (as a colour picker or a photo gives it); the
renderer converts it to linear light (:mod:`simgen.render.colour`)."""
ColorSpec = Literal["random", "original"] | RGB
"""``random`` draws from the scene's material ranges, ``original`` keeps the mesh's own texture
or vertex colours (sRGB, as PLY and texture files store them), ``[r, g, b]`` in [0, 1] (sRGB)
fixes the colour."""


class _Model(BaseModel):
    """Base of every config model: unknown keys are rejected, instances are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
