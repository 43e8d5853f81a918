"""Masks to polygons (COCO polygon segmentations, YOLO segmentation labels).

Coordinates are continuous image coordinates with pixel corners at integers: pixel
``(col, row)`` covers ``[col, col + 1) x [row, row + 1)``. OpenCV's contour runs through the
centres of a part's boundary pixels; each outline is then pushed outward by half a pixel (a
mitred offset), so an axis-aligned run of pixels gets exactly its pixels' outer edges and a
polygon covers its mask instead of shaving half a pixel off every side. Outlines are clipped to
the image. Holes are not represented.
"""

from __future__ import annotations

import numpy as np


def decode_rle(segmentation: dict) -> np.ndarray:
    """(H, W) bool mask of a COCO RLE whose ``counts`` is a str."""
    from pycocotools import mask as mask_utils

    rle = {"size": segmentation["size"], "counts": segmentation["counts"].encode()}
    return mask_utils.decode(rle).astype(bool)


def mask_polygons(mask: np.ndarray) -> list[np.ndarray]:
    """Outer outlines of a mask's connected parts.

    Args:
        mask: (H, W) bool.

    Returns:
        One (K, 2) float64 ``(x, y)`` array per part, K >= 3, largest part first (a single
        pixel becomes its square; a one-pixel-wide line a band around it).
    """
    import cv2

    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    height, width = mask.shape
    parts: list[tuple[int, np.ndarray]] = []
    for contour in contours:
        points = contour.reshape(-1, 2).astype(np.float64)
        polygon = offset_outline(points + 0.5, 0.5)
        polygon = np.clip(polygon, 0.0, (width, height))
        parts.append((int(cv2.contourArea(contour)), polygon))
    # Largest first; ties keep OpenCV's (deterministic) order.
    parts.sort(key=lambda item: -item[0])
    return [polygon for _, polygon in parts]


def offset_outline(points: np.ndarray, delta: float) -> np.ndarray:
    """Push a closed outline outward by ``delta`` (mitred; sharp turns get a square cap).

    Args:
        points: (K, 2) float64 vertices, K >= 1, either orientation; consecutive duplicates
            are dropped; a single point becomes a square. A zero-area outline (a
            one-pixel-wide line traced out and back) becomes a band ``2 * delta`` wide.

    Returns:
        (K', 2) float64.
    """
    keep = np.any(points != np.roll(points, 1, axis=0), axis=1)
    points = points[keep] if keep.any() else points[:1]
    if len(points) < 2:
        corners = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
        return points[0] + delta * corners
    x, y = points[:, 0], points[:, 1]
    area = 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
    edges = np.roll(points, -1, axis=0) - points  # edge i runs from vertex i to i + 1
    edges /= np.linalg.norm(edges, axis=1, keepdims=True)
    sign = 1.0 if area >= 0 else -1.0
    normals = sign * np.stack([edges[:, 1], -edges[:, 0]], axis=1)  # outward
    out = []
    for i, vertex in enumerate(points):
        d_in, n_in = edges[i - 1], normals[i - 1]
        d_out, n_out = edges[i], normals[i]
        cos = float(n_in @ n_out)
        if cos > -0.5:  # up to a 120 degree turn: mitre
            out.append(vertex + delta * (n_in + n_out) / (1.0 + cos))
        else:  # a spike: square cap
            out.append(vertex + delta * (n_in + d_in))
            out.append(vertex + delta * (n_out - d_out))
    return np.array(out)


def join_polygons(polygons: list[np.ndarray]) -> np.ndarray:
    """One polygon visiting every part (YOLO allows one polygon per object).

    Each next part is spliced in at its vertex closest to the current outline and joined by a
    zero-width bridge there and back, so the filled area stays the union of the parts.

    Args:
        polygons: (K_i, 2) float64 outlines, largest first.

    Returns:
        (K, 2) float64.
    """
    joined = polygons[0]
    for part in polygons[1:]:
        dist = ((joined[:, None, :] - part[None, :, :]) ** 2).sum(axis=2)
        i, j = np.unravel_index(int(np.argmin(dist)), dist.shape)
        rotated = np.roll(part, -j, axis=0)
        joined = np.concatenate(
            [joined[: i + 1], rotated, rotated[:1], joined[i : i + 1], joined[i + 1 :]]
        )
    return joined
