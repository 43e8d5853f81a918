"""Dataset writers: one registry, one interface (:class:`simgen.writers.base.Writer`)."""

from simgen.writers.base import Writer
from simgen.writers.coco import CocoWriter

WRITERS: dict[str, type[Writer]] = {"coco": CocoWriter}
"""Writer classes by name."""

__all__ = ["WRITERS", "CocoWriter", "Writer"]
