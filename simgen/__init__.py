"""simgen: domain-randomized synthetic datasets with exact COCO labels, rendered headless.

The curated public API::

    from simgen import load_config, render_dataset
    config = load_config(None, ["num_images=8", "seed=3"])   # built-in tabletop scene
    summary = render_dataset(config, "out/")
"""

__version__ = "0.1.0"

from simgen.config import SceneConfig, load_config
from simgen.errors import SimgenError
from simgen.runner import RunSummary, render_dataset

__all__ = [
    "RunSummary",
    "SceneConfig",
    "SimgenError",
    "__version__",
    "load_config",
    "render_dataset",
]
