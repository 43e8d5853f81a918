"""simgen: domain-randomized synthetic datasets with exact COCO labels, rendered headless.

The curated public API::

    from simgen import load_config, render_dataset
    config = load_config(None, ["num_images=8", "seed=3"])   # built-in tabletop scene
    summary = render_dataset(config, "out/")

The names are imported when first used, so that ``import simgen.x`` loads only what ``x``
needs: a spawned physics helper process imports numpy and pybullet, not the config models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from simgen.version import __version__

_EXPORTS = {
    "RunSummary": "simgen.produce.runner",
    "SceneConfig": "simgen.config",
    "SimgenError": "simgen.errors",
    "load_config": "simgen.config",
    "render_dataset": "simgen.produce.runner",
}

__all__ = [
    "RunSummary",
    "SceneConfig",
    "SimgenError",
    "__version__",
    "load_config",
    "render_dataset",
]

if TYPE_CHECKING:
    from simgen.config import SceneConfig, load_config
    from simgen.errors import SimgenError
    from simgen.produce.runner import RunSummary, render_dataset


def __getattr__(name: str) -> Any:
    """Import a public name of :data:`__all__` on first access."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'simgen' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
