"""simgen's version, in a module of its own so that any module can read it without importing
the package's lazy public API (:mod:`simgen`)."""

__version__ = "0.1.0"
