"""Cut-and-paste composites: real instances pasted onto defect-free backgrounds, exactly labeled.

``simgen composite`` (:mod:`simgen.composite.cli`) cuts each instance of a COCO dataset or mask
folder by its mask (:mod:`.sources`), draws a transform, placement, photometric match and blend
mode per pasted instance (:mod:`.compose`), applies them with pure functions (:mod:`.paste`),
and writes a resumable simgen dataset (:mod:`.run`) whose masks are the pasted pixels.
"""

from simgen.composite.config import CompositeConfig, load_composite_config

__all__ = ["CompositeConfig", "load_composite_config"]
