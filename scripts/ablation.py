"""What the ablation scripts share (``lmo_ablation.py``, ``mt_ablation.py``): one row type.

An ablation adds one change per row to the kept rows above it; a row whose change lowers the
score it is judged by (on data that is not the test set) is measured but not kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

Recipe = dict[str, Any]
"""A recipe as plain YAML data (a scene file or a composite config)."""

Change = Callable[[Recipe, dict[str, str]], None]
"""Edits a recipe in place; the dict carries the script's other settings (folders, options)."""


class Row(NamedTuple):
    """One line of an ablation: a change, and whether later rows keep it."""

    slug: str
    name: str
    change: Change | None
    kept: bool = True
    """False: measured, but the change is not carried into later rows or the shipped recipe.
    Decided on data that is not the test set, never on the test set."""
