"""Schema versions of the documents simgen writes, and converters from older versions.

A dataset folder holds documents that simgen reads back later: ``config.yaml`` (a scene config
or a composite config) to resume or replay it, and ``records/NNNNNN.json`` to replay, inspect,
merge and write its formats. Each carries ``schema_version``: the :data:`SCHEMA_VERSION` of the
simgen that wrote it. A document without the key predates versioning and is version 0 (the
same holds for a scene file written by hand, which may also state the version it was written
for).

Every reader passes the raw document (a dict) through :func:`upgrade_config`,
:func:`upgrade_composite_config` or :func:`upgrade_record` before using it. These apply the
step converters of :data:`CONVERTERS` in order, ``v -> v + 1`` from the document's version up
to :data:`SCHEMA_VERSION`, and set ``schema_version`` (first key) after each step, as
detectron2's config compatibility layer does. A document newer than this simgen fails with a
one-line error naming its file.

Changing a document's shape therefore means: bump :data:`SCHEMA_VERSION` to ``N + 1`` and give
every kind a step ``N`` -- :func:`unchanged` for the kinds that did not change, a converter
for those that did; a renamed field is one entry::

    CONVERTERS["scene"][N] = rename("camera.fov_deg", "camera.fov")

A step must leave a document that already has the newer shape as it is (a hand-written scene
file without ``schema_version`` counts as version 0 and goes through every step); a rename
does nothing when the old key is absent.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from simgen.errors import SimgenError

SCHEMA_VERSION = 2
"""The version of the configs and records this simgen writes (and the newest it reads).

History: 0 -- no ``schema_version`` key (simgen before versioning); 1 -- the key is written,
nothing else changed; 2 -- records name each object's ``mesh`` and carry props' ``texture`` and
``tile``; scene configs may use ``placement.mode: road`` (``placement.road``), ``camera.mode:
road`` (``camera.road``) and catalog ``zones`` (all new keys with defaults, so version-1
documents convert unchanged, while a simgen that reads only version 1 refuses version-2
documents in one line instead of failing on the unknown keys)."""

VERSION_KEY = "schema_version"

Converter = Callable[[dict[str, Any]], dict[str, Any]]
"""One step: a document of version ``v`` (a fresh copy it may change) -> version ``v + 1``."""


def unchanged(data: dict[str, Any]) -> dict[str, Any]:
    """The step of a kind of document whose shape did not change."""
    return data


def rename(old: str, new: str) -> Converter:
    """A step that moves the value at dotted path ``old`` to dotted path ``new``.

    Paths go through nested mappings (``"camera.fov_deg"``). Nothing happens when ``old`` is
    absent (a document already in the new shape); the new key's parents must exist.
    """
    old_path, new_path = old.split("."), new.split(".")

    def step(data: dict[str, Any]) -> dict[str, Any]:
        parent = _parent(data, old_path)
        if parent is None or old_path[-1] not in parent:
            return data
        target = _parent(data, new_path)
        if target is None:
            raise ValueError(f"cannot rename {old} to {new}: no mapping at the new key's parent")
        value = parent.pop(old_path[-1])
        target[new_path[-1]] = value
        return data

    step.__doc__ = f"Rename {old} to {new}."
    return step


def _parent(data: dict[str, Any], path: list[str]) -> dict[str, Any] | None:
    """The mapping holding the last key of ``path``, or ``None`` when a step is missing."""
    node: Any = data
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


CONVERTERS: dict[str, dict[int, Converter]] = {
    "scene": {0: unchanged, 1: unchanged},
    "composite": {0: unchanged, 1: unchanged},
    "record": {0: unchanged, 1: unchanged},
}
"""Step converters per kind of document (a scene config, a composite config, an image record),
keyed by the version they convert from. Every kind has a step for each version below
:data:`SCHEMA_VERSION`."""


def document_version(data: Mapping[str, Any], *, source: str | Path) -> int:
    """The ``schema_version`` of a raw document (0 when it has none).

    Raises:
        SimgenError: the version is not a whole number >= 0.
    """
    version = data.get(VERSION_KEY, 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise SimgenError(
            f"must be a whole number >= 0 (got {version!r})", file=source, field=VERSION_KEY
        )
    return version


def check_current_version(value: int) -> int:
    """``value`` when it is :data:`SCHEMA_VERSION` (the pydantic check of a config's
    ``schema_version``, which the readers have converted to the current version already).

    Raises:
        ValueError: another version.
    """
    if value != SCHEMA_VERSION:
        raise ValueError(
            f"must be {SCHEMA_VERSION} once converted (got {value}); read configs through "
            "their validate function, which converts older versions"
        )
    return value


def upgrade(
    data: dict[str, Any],
    kind: str,
    *,
    source: str | Path,
    converters: Mapping[int, Converter] | None = None,
    current: int | None = None,
) -> dict[str, Any]:
    """``data`` converted from its ``schema_version`` to ``current``.

    Args:
        data: the raw document (a parsed YAML or JSON mapping); left unchanged.
        kind: a key of :data:`CONVERTERS` (``scene``, ``composite`` or ``record``).
        source: the file it was read from, named in errors.
        converters: the steps to apply (default ``CONVERTERS[kind]``).
        current: the version to convert to (default :data:`SCHEMA_VERSION`, read when called).

    Returns:
        ``data`` itself when it is at ``current`` already; otherwise a converted deep copy
        whose first key is ``schema_version`` (= ``current``).

    Raises:
        SimgenError: the version is not a whole number, or newer than ``current`` (written by
            a newer simgen), naming ``source``.
    """
    steps = CONVERTERS[kind] if converters is None else converters
    current = SCHEMA_VERSION if current is None else current
    version = document_version(data, source=source)
    if version > current:
        raise SimgenError(
            f"{version}: written by a newer simgen (this one reads up to {current}); "
            "upgrade simgen",
            file=source,
            field=VERSION_KEY,
        )
    if version == current and VERSION_KEY in data:
        return data
    upgraded = copy.deepcopy(data)
    for step in range(version, current):
        if step not in steps:
            raise SimgenError(
                f"no converter for {kind} documents of schema_version {step}", file=source
            )
        upgraded = steps[step](upgraded)
        upgraded = {
            VERSION_KEY: step + 1,
            **{k: v for k, v in upgraded.items() if k != VERSION_KEY},
        }
    if VERSION_KEY not in upgraded:  # current == 0: nothing to convert, the key is added
        upgraded = {VERSION_KEY: current, **upgraded}
    return upgraded


def upgrade_config(data: dict[str, Any], *, source: str | Path) -> dict[str, Any]:
    """A raw scene config (``config.yaml`` or a scene file) at :data:`SCHEMA_VERSION`."""
    return upgrade(data, "scene", source=source)


def upgrade_composite_config(data: dict[str, Any], *, source: str | Path) -> dict[str, Any]:
    """A raw composite config at :data:`SCHEMA_VERSION`."""
    return upgrade(data, "composite", source=source)


def upgrade_record(data: dict[str, Any], *, source: str | Path) -> dict[str, Any]:
    """A raw image record (``records/NNNNNN.json``, rendered or composite) at
    :data:`SCHEMA_VERSION`."""
    return upgrade(data, "record", source=source)
