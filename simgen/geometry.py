"""Small, pure geometry helpers: rotations, look-at frames, projection.

Camera frames use the OpenCV convention (x right, y down, z forward). ``OPENGL_FROM_OPENCV``
converts a world-from-camera pose to the OpenGL convention (y up, looking along -z) used by
pyrender for cameras and lights.
"""

from __future__ import annotations

import numpy as np

OPENGL_FROM_OPENCV = np.diag([1.0, -1.0, -1.0, 1.0])
"""Right-multiply a world-from-camera (OpenCV) pose by this to get the OpenGL pose."""


def rotation_from_quaternion(q: np.ndarray) -> np.ndarray:
    """(3, 3) float64 rotation matrix from a quaternion ``(w, x, y, z)`` (any norm > 0)."""
    w, x, y, z = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def quaternion_from_rotation(R: np.ndarray) -> np.ndarray:
    """Quaternion ``(w, x, y, z)`` with w >= 0 from a (3, 3) rotation matrix."""
    R = np.asarray(R, dtype=np.float64)
    trace = np.trace(R)
    if trace > 0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = [0.25 * s, (R[2, 1] - R[1, 2]) / s, (R[0, 2] - R[2, 0]) / s, (R[1, 0] - R[0, 1]) / s]
    elif R[0, 0] > R[1, 1] and R[0, 0] > R[2, 2]:
        s = 2.0 * np.sqrt(1.0 + R[0, 0] - R[1, 1] - R[2, 2])
        q = [(R[2, 1] - R[1, 2]) / s, 0.25 * s, (R[0, 1] + R[1, 0]) / s, (R[0, 2] + R[2, 0]) / s]
    elif R[1, 1] > R[2, 2]:
        s = 2.0 * np.sqrt(1.0 + R[1, 1] - R[0, 0] - R[2, 2])
        q = [(R[0, 2] - R[2, 0]) / s, (R[0, 1] + R[1, 0]) / s, 0.25 * s, (R[1, 2] + R[2, 1]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + R[2, 2] - R[0, 0] - R[1, 1])
        q = [(R[1, 0] - R[0, 1]) / s, (R[0, 2] + R[2, 0]) / s, (R[1, 2] + R[2, 1]) / s, 0.25 * s]
    quaternion = np.asarray(q)
    return quaternion if quaternion[0] >= 0 else -quaternion


def pose_matrix(rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """(4, 4) float64 homogeneous transform from a (3, 3) rotation and a (3,) translation."""
    pose = np.eye(4)
    pose[:3, :3] = rotation
    pose[:3, 3] = translation
    return pose


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray | None = None) -> np.ndarray:
    """(4, 4) world-from-camera pose (OpenCV axes) of a camera at ``eye`` looking at ``target``.

    ``up`` defaults to world +z; when the view is parallel to it, world +y is used instead.
    """
    eye = np.asarray(eye, dtype=np.float64)
    forward = np.asarray(target, dtype=np.float64) - eye
    forward /= np.linalg.norm(forward)
    up_vec = np.array([0.0, 0.0, 1.0]) if up is None else np.asarray(up, dtype=np.float64)
    right = np.cross(forward, up_vec)
    if np.linalg.norm(right) < 1e-9:
        right = np.cross(forward, np.array([0.0, 1.0, 0.0]))
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return pose_matrix(np.stack([right, down, forward], axis=1), eye)


def spherical_to_cartesian(distance: float, elevation_deg: float, azimuth_deg: float) -> np.ndarray:
    """(3,) point at ``distance`` from the origin, elevation above the xy-plane, azimuth from +x."""
    el, az = np.radians(elevation_deg), np.radians(azimuth_deg)
    return distance * np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])


def transform_points(pose: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a (4, 4) transform to (N, 3) points; returns (N, 3) float64."""
    points = np.asarray(points, dtype=np.float64)
    return points @ pose[:3, :3].T + pose[:3, 3]


def project(K: np.ndarray, points_cam: np.ndarray) -> np.ndarray:
    """Project (N, 3) camera-frame points (z > 0) with (3, 3) ``K``; returns (N, 2) pixels.

    Pixel coordinates follow OpenCV: the centre of pixel (col, row) is at (col, row).
    """
    z = points_cam[:, 2]
    u = K[0, 0] * points_cam[:, 0] / z + K[0, 1] * points_cam[:, 1] / z + K[0, 2]
    v = K[1, 1] * points_cam[:, 1] / z + K[1, 2]
    return np.stack([u, v], axis=1)


def intrinsics_from_fov(width: int, height: int, fov_y_deg: float) -> np.ndarray:
    """(3, 3) K: square pixels, vertical field of view ``fov_y_deg``, centred principal point."""
    fy = 0.5 * height / np.tan(np.radians(fov_y_deg) / 2.0)
    return np.array([[fy, 0.0, (width - 1) / 2.0], [0.0, fy, (height - 1) / 2.0], [0.0, 0.0, 1.0]])
