"""Pure samplers ``f(spec, rng) -> value``; :func:`sample_scene` composes them."""

from simgen.randomize.scene import sample_scene

__all__ = ["sample_scene"]
