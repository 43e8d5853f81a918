"""Pure samplers ``f(spec, rng) -> value``; :func:`sample_scene` composes them.

``sample_scene`` is resolved lazily so that :mod:`simgen.config` can import sampler config
models (e.g. :class:`~simgen.randomize.texture.TextureConfig`) without an import cycle.
"""

from __future__ import annotations

from typing import Any

__all__ = ["sample_scene"]


def __getattr__(name: str) -> Any:
    if name == "sample_scene":
        from simgen.randomize.scene import sample_scene

        return sample_scene
    raise AttributeError(f"module 'simgen.randomize' has no attribute {name!r}")
