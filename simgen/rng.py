"""Seeds to Generators. Every random draw in simgen comes from a Generator made here.

Scene ``j`` of a dataset with root seed ``s`` draws from ``SeedSequence(s, spawn_key=(j,))``,
so its content depends only on ``(config, s, j)``: not on worker count, shard order or resume.
"""

from __future__ import annotations

import numpy as np


def scene_rng(seed: int, scene_index: int) -> np.random.Generator:
    """Generator for everything sampled for scene ``scene_index``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(scene_index,)))


def view_rng(seed: int, scene_index: int, view_index: int) -> np.random.Generator:
    """Generator for per-image draws (post-render effects) of one camera view."""
    return np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(scene_index, view_index + 1))
    )
