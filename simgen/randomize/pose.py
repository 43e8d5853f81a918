"""Placement samplers: uniform rotations, drop columns, upright and floating non-overlapping poses.

All functions take per-object bounding sizes, draw from the Generator they are given, and return
(4, 4) float64 world-from-object poses (``None`` for an object that could not be placed without
overlap in ``max_tries`` attempts).
"""

from __future__ import annotations

from typing import cast

import numpy as np

from simgen.geometry import pose_matrix, rotation_from_quaternion


def uniform_rotation(rng: np.random.Generator) -> np.ndarray:
    """(3, 3) rotation drawn uniformly from SO(3) (normalized Gaussian quaternion)."""
    return rotation_from_quaternion(rng.normal(size=4))


def yaw_rotation(angle: float) -> np.ndarray:
    """(3, 3) rotation by ``angle`` radians about +z."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def drop_poses(
    radii: np.ndarray,
    area: tuple[float, float],
    gap: float,
    rng: np.random.Generator,
    base: float = 0.0,
) -> list[np.ndarray]:
    """Initial poses for a physics drop.

    Objects get a random xy in ``area`` (shrunk by each radius so they start inside it) and a
    uniform random rotation; they are stacked in height by their bounding radii (``radii``:
    (N,) float64, metres) plus ``gap``, starting ``base`` metres above the ground, so no two
    bounding spheres overlap at the start.
    """
    poses = []
    z = base + gap
    half = np.asarray(area, dtype=np.float64) / 2.0
    for radius in np.asarray(radii, dtype=np.float64):
        room = np.maximum(half - radius, 0.0)
        xy = rng.uniform(-room, room)
        rotation = uniform_rotation(rng)
        poses.append(pose_matrix(rotation, np.array([xy[0], xy[1], z + radius])))
        z += 2.0 * radius + gap
    return poses


def _fits(centre: np.ndarray, radius: float, placed: list[tuple[np.ndarray, float]], gap: float):
    return all(np.linalg.norm(centre - c) >= radius + r + gap for c, r in placed)


def upright_poses(
    extents: np.ndarray,
    area: tuple[float, float],
    gap: float,
    max_tries: int,
    rng: np.random.Generator,
) -> list[np.ndarray | None]:
    """Objects standing on z = 0 in their mesh's +z-up orientation with a random yaw.

    Args:
        extents: (N, 3) float64 scaled bounding-box sizes (meshes are centred on their box).
        area: width and depth of the region the footprints must stay in.
        gap: minimum clearance between footprint circles.
        max_tries: attempts per object before it is left out (``None``).
    """
    half = np.asarray(area, dtype=np.float64) / 2.0
    placed: list[tuple[np.ndarray, float]] = []
    poses: list[np.ndarray | None] = []
    for ext in np.asarray(extents, dtype=np.float64):
        radius = 0.5 * float(np.hypot(ext[0], ext[1]))
        room = np.maximum(half - radius, 0.0)
        pose = None
        for _ in range(max_tries):
            xy = rng.uniform(-room, room)
            yaw = rng.uniform(0.0, 2.0 * np.pi)
            if _fits(xy, radius, placed, gap):
                placed.append((xy, radius))
                pose = pose_matrix(yaw_rotation(yaw), np.array([xy[0], xy[1], ext[2] / 2.0]))
                break
        poses.append(pose)
    return poses


def stand_then_drop_poses(
    extents: np.ndarray,
    standing: np.ndarray,
    area: tuple[float, float],
    gap: float,
    max_tries: int,
    rng: np.random.Generator,
    order: np.ndarray | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Initial poses for a physics drop in which some objects start standing on the ground.

    The objects flagged in ``standing`` are placed first, as :func:`upright_poses` places them
    (on z = 0 in their mesh's +z-up orientation, random yaw, footprints ``gap`` apart); the
    others, and standing ones that found no free spot, start in drop columns above the tallest
    standing object (:func:`drop_poses`), so nothing overlaps at the start.

    Args:
        extents: (N, 3) float64 scaled bounding-box sizes (meshes are centred on their box).
        standing: (N,) bool, the objects that start standing.
        area: width and depth of the placement area in metres.
        gap: clearance in metres.
        max_tries: attempts per standing object before it is dropped instead.
        order: int64 indices of the standing objects in the order their footprints are sought
            (earlier ones get more room); ``None``: ascending.

    Returns:
        The (4, 4) float64 poses, and an (N,) bool array of the objects that start standing
        (those of ``standing`` that found a footprint).
    """
    extents = np.asarray(extents, dtype=np.float64)
    standing = np.asarray(standing, dtype=bool)
    poses: list[np.ndarray | None] = [None] * len(extents)
    stand_index: np.ndarray = np.flatnonzero(standing)
    if order is not None:
        if sorted(np.asarray(order).tolist()) != stand_index.tolist():
            raise ValueError("order must list each standing object once")
        stand_index = np.asarray(order, dtype=np.int64)
    stood = upright_poses(extents[stand_index], area, gap, max_tries, rng)
    for i, pose in zip(stand_index, stood, strict=True):
        poses[int(i)] = pose
    stands = np.array([pose is not None for pose in poses], dtype=bool)
    top = max((extents[i, 2] for i, p in enumerate(poses) if p is not None), default=0.0)
    rest = [i for i, p in enumerate(poses) if p is None]
    radii = 0.5 * np.linalg.norm(extents[rest], axis=1)
    for i, pose in zip(rest, drop_poses(radii, area, gap, rng, base=float(top)), strict=True):
        poses[i] = pose
    return cast(list[np.ndarray], poses), stands


def footprint_order(extents: np.ndarray, standing: np.ndarray, labeled: np.ndarray) -> np.ndarray:
    """int64 indices of the ``standing`` objects ((N,) bool) in the order
    :func:`stand_then_drop_poses` should seek their footprints: ``labeled`` ((N,) bool) ones
    first, then the rest, each group by footprint (the diagonal of the ``extents``' (N, 3) x and
    y) from largest to smallest (ties keep index order). Random packing that places big objects
    last leaves them no room: with the LM-O recipe's 0.6 m square, 6 to 8 targets in drawn
    order, the driller found a footprint in 63 % of scenes, largest first in all of them."""
    extents = np.asarray(extents, dtype=np.float64)
    footprint = np.hypot(extents[:, 0], extents[:, 1])
    groups = []
    for group in (standing & labeled, standing & ~labeled):
        index = np.flatnonzero(group)
        groups.append(index[np.argsort(-footprint[index], kind="stable")])
    return np.concatenate(groups).astype(np.int64)


def volume_poses(
    radii: np.ndarray,
    area: tuple[float, float],
    height: tuple[float, float],
    gap: float,
    max_tries: int,
    rng: np.random.Generator,
) -> list[np.ndarray | None]:
    """Floating objects: uniform rotations, centres uniform in ``area`` × ``height``, bounding
    spheres (``radii``: (N,) metres) at least ``gap`` apart; ``None`` where no spot was found."""
    half = np.asarray(area, dtype=np.float64) / 2.0
    placed: list[tuple[np.ndarray, float]] = []
    poses: list[np.ndarray | None] = []
    for radius in np.asarray(radii, dtype=np.float64):
        pose = None
        for _ in range(max_tries):
            centre = np.array([*rng.uniform(-half, half), rng.uniform(*height)])
            rotation = uniform_rotation(rng)
            if _fits(centre, float(radius), placed, gap):
                placed.append((centre, float(radius)))
                pose = pose_matrix(rotation, centre)
                break
        poses.append(pose)
    return poses
