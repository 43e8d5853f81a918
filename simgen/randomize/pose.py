"""Pose samplers: uniform rotations and a non-overlapping drop column over the table."""

from __future__ import annotations

import numpy as np

from simgen.geometry import pose_matrix, rotation_from_quaternion


def uniform_rotation(rng: np.random.Generator) -> np.ndarray:
    """(3, 3) rotation drawn uniformly from SO(3) (normalized Gaussian quaternion)."""
    return rotation_from_quaternion(rng.normal(size=4))


def drop_poses(
    radii: np.ndarray,
    drop_area: tuple[float, float],
    gap: float,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """Initial (4, 4) poses for a physics drop.

    Objects get a random xy in the drop area and a uniform random rotation; they are stacked in
    height by their bounding radii (``radii``: (N,) float64, metres) plus ``gap``, so no two
    bounding spheres overlap before the simulation starts.
    """
    poses = []
    z = gap
    half = np.asarray(drop_area, dtype=np.float64) / 2.0
    for radius in np.asarray(radii, dtype=np.float64):
        xy = rng.uniform(-half, half)
        rotation = uniform_rotation(rng)
        poses.append(pose_matrix(rotation, np.array([xy[0], xy[1], z + radius])))
        z += 2.0 * radius + gap
    return poses


def resting_poses(
    radii: np.ndarray, drop_area: tuple[float, float], rng: np.random.Generator
) -> list[np.ndarray]:
    """Poses without physics: random xy and rotation, centre one bounding radius above z = 0."""
    half = np.asarray(drop_area, dtype=np.float64) / 2.0
    poses = []
    for radius in np.asarray(radii, dtype=np.float64):
        xy = rng.uniform(-half, half)
        poses.append(pose_matrix(uniform_rotation(rng), np.array([xy[0], xy[1], radius])))
    return poses
