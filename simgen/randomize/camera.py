"""Camera sampler: intrinsics from fov or K, pose on a sphere around a jittered target."""

from __future__ import annotations

import numpy as np

from simgen.config import CameraConfig, ImageConfig
from simgen.geometry import intrinsics_from_fov, look_at, spherical_to_cartesian
from simgen.randomize.road import RoadLayout, road_view_pose
from simgen.scene import CameraView


def sample_intrinsics(
    camera: CameraConfig, image: ImageConfig, rng: np.random.Generator
) -> np.ndarray:
    """(3, 3) float64 K: the configured intrinsics, or square pixels with a random vertical fov."""
    if camera.intrinsics is not None:
        k = camera.intrinsics
        return np.array([[k.fx, 0.0, k.cx], [0.0, k.fy, k.cy], [0.0, 0.0, 1.0]])
    return intrinsics_from_fov(image.width, image.height, rng.uniform(*camera.fov_deg))


def _roll(pose: np.ndarray, camera: CameraConfig, rng: np.random.Generator) -> np.ndarray:
    """``pose`` turned about its view axis by a roll drawn from ``camera.roll_deg``."""
    roll = np.radians(rng.uniform(*camera.roll_deg))
    c, s = np.cos(roll), np.sin(roll)
    pose[:3, :3] = pose[:3, :3] @ np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return pose


def sample_road_view(
    camera: CameraConfig, image: ImageConfig, layout: RoadLayout, rng: np.random.Generator
) -> CameraView:
    """Draw one view from a car in a lane of ``layout`` (``camera.mode: road``)."""
    K = sample_intrinsics(camera, image, rng)
    pose = _roll(road_view_pose(camera.road, layout, rng), camera, rng)
    return CameraView(
        width=image.width, height=image.height, K=K, pose=pose, znear=camera.znear,
        zfar=camera.zfar,
    )  # fmt: skip


def sample_view(camera: CameraConfig, image: ImageConfig, rng: np.random.Generator) -> CameraView:
    """Draw one camera view looking at the origin (the table centre) plus jitter."""
    K = sample_intrinsics(camera, image, rng)
    distance = rng.uniform(*camera.distance)
    elevation = rng.uniform(*camera.elevation_deg)
    azimuth = rng.uniform(*camera.azimuth_deg)
    target = rng.uniform(-camera.look_at_jitter, camera.look_at_jitter, size=3)
    eye = target + spherical_to_cartesian(distance, elevation, azimuth)
    roll = np.radians(rng.uniform(*camera.roll_deg))
    pose = look_at(eye, target)
    c, s = np.cos(roll), np.sin(roll)
    pose[:3, :3] = pose[:3, :3] @ np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return CameraView(
        width=image.width,
        height=image.height,
        K=K,
        pose=pose,
        znear=camera.znear,
        zfar=camera.zfar,
    )
