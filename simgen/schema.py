"""Shared pydantic building blocks for configs: a strict base model and colour specs.

Kept apart from :mod:`simgen.config` so that modules defining their own config sections
(textures, effects) can use them without importing the whole scene config.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from simgen.ranges import RGB

PYBULLET_DATA_PREFIX = "pybullet_data:"
"""Mesh paths starting with this prefix are resolved inside the ``pybullet_data`` package."""

ASSETS_PREFIX = "assets:"
"""References starting with this prefix name simgen's asset library (:mod:`simgen.library`):
a folder of images (``assets:textures``) or a listed mesh file (``assets:driving/cars/...``)."""

ColorSpec = Literal["random", "original", "paint", "parts"] | RGB
"""``random`` draws from the scene's material ranges, ``original`` keeps the mesh's own texture
or vertex colours (sRGB, as PLY and texture files store them), ``paint`` repaints a mesh's own
vertex colours with a colour of ``materials.paint``'s palette, keeping its dark details (glass,
tyres, trim), ``parts`` repaints the parts of a mesh listed in ``materials.parts`` (its
vertices of one vertex colour each: a person's top, trousers, shoes, skin) from each part's own
palette, ``[r, g, b]`` in [0, 1] (sRGB) fixes the colour."""


class _Model(BaseModel):
    """Base of every config model: unknown keys are rejected, instances are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
