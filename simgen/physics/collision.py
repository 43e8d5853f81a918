"""Collision models: the shape each catalog entry collides as, small enough to pickle.

A mesh collides as Bullet's own primitive when it is one (or is round), else as a convex hull
simplified to at most :data:`MAX_HULL_VERTICES` vertices. This module needs only numpy (and scipy
for hulls): a physics helper process imports it without trimesh or the catalog's meshes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

EXACT_PRIMITIVES = ("box", "sphere", "cylinder", "capsule")
"""Primitives that collide as Bullet's own shape of that kind when ``aspect`` kept their
proportions (see :func:`collides_exactly`); the others, and stretched ones, as their hull."""

_SAME_SIZE = 1e-6
"""Relative tolerance (``math.isclose``) of :func:`collides_exactly`'s proportion checks."""

MAX_HULL_VERTICES = 128
"""Collision hulls keep at most this many of the convex hull's vertices. Bullet's contact
queries scan every hull vertex, so a detailed mesh colliding as its full hull makes every
contact slow; see :func:`simplify_hull`."""


ROUND_TOLERANCE = 0.01
"""A mesh collides as a sphere when its convex hull's vertices lie at distances from its
centre that differ by at most this fraction of its longest side (see
:attr:`Asset.round_radius`)."""


def simplify_hull(points: np.ndarray, count: int) -> np.ndarray:
    """Indices (ascending) of at most ``count`` rows of ``points`` (K, 3) float64, the vertices
    of a convex hull, whose own hull stays close to it: starting from the two farthest-apart
    points and the points farthest from their line and plane, the point farthest outside the
    current hull is added until ``count`` are chosen or every point is within 1e-6 of the
    hull's size. All indices when K <= ``count``.

    The simplified hull lies inside the full one, so a resting object may sink into what it
    rests on by at most the largest remaining distance (1.23 mm for the default football at
    128 points).
    """
    from scipy.spatial import ConvexHull

    if len(points) <= count:
        return np.arange(len(points))
    size = float(np.ptp(points, axis=0).max())
    first = int(np.argmax(np.linalg.norm(points - points.mean(axis=0), axis=1)))
    second = int(np.argmax(np.linalg.norm(points - points[first], axis=1)))
    axis = (points[second] - points[first]) / np.linalg.norm(points[second] - points[first])
    offsets = points - points[first]
    radial = offsets - np.outer(offsets @ axis, axis)
    third = int(np.argmax(np.linalg.norm(radial, axis=1)))
    normal = np.cross(axis, points[third] - points[first])
    fourth = int(np.argmax(np.abs(offsets @ normal)))
    chosen = list(dict.fromkeys([first, second, third, fourth]))
    candidates = np.arange(len(points))  # points outside the current hull (it only grows)
    while len(chosen) < count:
        planes = ConvexHull(points[chosen]).equations  # (F, 4): outward normal, offset
        outside = (points[candidates] @ planes[:, :3].T + planes[:, 3]).max(axis=1)
        keep = outside > 1e-6 * size
        if not keep.any():
            break
        candidates, outside = candidates[keep], outside[keep]
        chosen.append(int(candidates[np.argmax(outside)]))
    return np.sort(np.asarray(chosen))


class CollisionGeometry(Protocol):
    """What :meth:`CollisionModel.of` reads of a catalog entry (an :class:`~simgen.assets.Asset`
    has these)."""

    @property
    def primitive(self) -> str | None: ...

    @property
    def extents(self) -> np.ndarray: ...

    @property
    def round_radius(self) -> float | None: ...

    @property
    def hull_vertices(self) -> np.ndarray: ...


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=_SAME_SIZE)


def collides_exactly(primitive: str | None, extents: np.ndarray) -> bool:
    """Whether an asset collides as Bullet's own shape of its ``primitive``: a box always; a
    sphere whose (3,) ``extents`` are equal; a cylinder with equal x and y; a capsule with
    equal x and y and z twice that (a stretch along z would make its caps ellipsoids). An
    ``aspect`` that breaks these proportions makes the asset collide as its hull instead.
    """
    if primitive not in EXACT_PRIMITIVES:
        return False
    x, y, z = (float(v) for v in extents)
    if primitive == "box":
        return True
    if primitive == "sphere":
        return _same(x, y) and _same(x, z)
    if primitive == "cylinder":
        return _same(x, y)
    return _same(x, y) and _same(z, 2 * x)  # a capsule


@dataclass(frozen=True, eq=False)
class CollisionModel:
    """What a settle needs of an asset: the shape it collides as, its box and its collision
    hull (no mesh).

    Small and cheap to pickle, and importing this module does not import trimesh, so a physics
    helper process can be given these instead of loading the catalog itself (about 2 s of CPU
    for the default catalog's meshes and hulls).

    Attributes:
        shape: ``box``, ``sphere``, ``cylinder`` or ``capsule`` (Bullet's own shape: a
            primitive that :func:`collides_exactly`, or a round mesh, see
            :attr:`Asset.round_radius`), else ``hull``.
        extents: (3,) float64 bounding-box side lengths in metres.
        radius: the sphere's radius in metres (``sphere`` only; 0 otherwise).
        hull_vertices: (K, 3) float64 collision hull vertices (:attr:`Asset.hull_vertices`;
            empty unless ``shape`` is ``hull``).
    """

    shape: str
    extents: np.ndarray
    radius: float
    hull_vertices: np.ndarray

    @classmethod
    def of(cls, asset: CollisionGeometry | CollisionModel) -> CollisionModel:
        """The model of ``asset`` (a model is returned as it is)."""
        if isinstance(asset, CollisionModel):
            return asset
        extents = np.asarray(asset.extents, dtype=np.float64)
        none = np.zeros((0, 3))
        if collides_exactly(asset.primitive, extents):
            radius = float(extents[0] / 2) if asset.primitive == "sphere" else 0.0
            return cls(str(asset.primitive), extents, radius, none)
        if asset.round_radius is not None:
            return cls("sphere", extents, float(asset.round_radius), none)
        return cls("hull", extents, 0.0, np.asarray(asset.hull_vertices, dtype=np.float64))


def collision_models(assets: Sequence[CollisionGeometry | CollisionModel]) -> list[CollisionModel]:
    """:meth:`CollisionModel.of` of every asset (same indexing)."""
    return [CollisionModel.of(asset) for asset in assets]
