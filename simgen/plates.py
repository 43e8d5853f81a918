"""Number plates on vehicle meshes (a catalog entry's ``plates``).

Nearly every car seen from ahead or behind in a street photograph shows a white number plate;
the low-poly models of simgen's asset library have none (at most a dark recess). :func:`plate_mesh`
builds one for the front and one for the back of a mesh whose heading is +x (as
``scripts/convert_driving_assets.py`` writes them): a white rectangle of a European plate's size
with a dark band of characters, standing on the mesh's outermost surface at the plate's height
(found by casting rays along x through the plate's corners), a few millimetres out. An asset keeps
them as its ``decals``: they are part of its vertices and faces (so its labels, masks and
occlusion include them) and are drawn in their own colours whatever colour the instance takes.
"""

from __future__ import annotations

import numpy as np

PLATE_SIZE = (0.52, 0.11)
"""(width, height) in metres: a European plate."""

TEXT_SIZE = (0.38, 0.05)
"""(width, height) in metres of the dark band standing for the characters."""

PLATE_RGBA = (236, 236, 232, 255)
"""sRGB vertex colour (0-255) of the plate."""

TEXT_RGBA = (60, 60, 64, 255)
"""sRGB vertex colour (0-255) of the characters' band."""

STANDOFF = 0.004
"""Metres between the mesh's surface and the plate (the band is another millimetre out)."""


def surface_x(
    vertices: np.ndarray, faces: np.ndarray, y: np.ndarray, z: np.ndarray, front: bool
) -> np.ndarray:
    """Where rays along x meet the mesh first, coming from far ahead (``front``) or behind.

    Args:
        vertices: (N, 3) float64 vertex positions.
        faces: (M, 3) int64 triangles.
        y, z: (K,) float64 the rays' coordinates.
        front: rays come from +x (the largest hit x) or from -x (the smallest).

    Returns:
        (K,) float64 x of the first hit, NaN where a ray misses the mesh.
    """
    tri = vertices[faces]  # (M, 3, 3)
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    out = np.full(len(y), np.nan)
    # twice the signed area of each triangle projected to the yz plane (0: seen edge-on)
    d = (b[:, 1] - a[:, 1]) * (c[:, 2] - a[:, 2]) - (c[:, 1] - a[:, 1]) * (b[:, 2] - a[:, 2])
    ok = np.abs(d) > 1e-12
    safe = np.where(ok, d, 1.0)
    for k, (py, pz) in enumerate(zip(y, z, strict=True)):
        # barycentric coordinates of (py, pz) in each projected triangle
        u = ((py - a[:, 1]) * (c[:, 2] - a[:, 2]) - (c[:, 1] - a[:, 1]) * (pz - a[:, 2])) / safe
        v = ((b[:, 1] - a[:, 1]) * (pz - a[:, 2]) - (py - a[:, 1]) * (b[:, 2] - a[:, 2])) / safe
        inside = ok & (u >= 0) & (v >= 0) & (u + v <= 1)
        if inside.any():
            x = (1 - u - v) * a[:, 0] + u * b[:, 0] + v * c[:, 0]
            out[k] = x[inside].max() if front else x[inside].min()
    return out


def _quad(x: float, y: float, z: float, size: tuple[float, float], front: bool) -> np.ndarray:
    """(4, 3) corners of an upright rectangle in the plane x, centred at (y, z), ordered so that
    its two triangles (0, 1, 2) and (0, 2, 3) face +x (``front``) or -x."""
    w, h = size[0] / 2, size[1] / 2
    corners = np.array([[x, y - w, z - h], [x, y + w, z - h], [x, y + w, z + h], [x, y - w, z + h]])
    return corners if front else corners[::-1].copy()


def plate_geometry(
    vertices: np.ndarray, faces: np.ndarray, heights: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The plates of one mesh (heading +x, centred on its bounding box).

    Args:
        vertices, faces: the mesh, (N, 3) float64 and (M, 3) int64.
        heights: (front, back) plate centres as fractions of the mesh's height above its
            bottom.

    Returns:
        ``(vertices (P, 3) float64, faces (Q, 3) int64 indexing them, colours (P, 4) uint8)``:
        for each end whose rays hit the mesh a plate and its band (8 vertices, 4 triangles);
        empty arrays when none do.
    """
    lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    verts, tris, colours = [], [], []
    for front, height in ((True, heights[0]), (False, heights[1])):
        zc = lo[2] + height * (hi[2] - lo[2])
        w, h = PLATE_SIZE[0] / 2, PLATE_SIZE[1] / 2
        ys = np.array([-w, w, -w, w, 0.0])
        zs = np.array([zc - h, zc - h, zc + h, zc + h, zc])
        hits = surface_x(vertices, faces, ys, zs, front)
        if np.isnan(hits).all():
            continue
        sign = 1.0 if front else -1.0
        x = (np.nanmax(hits) if front else np.nanmin(hits)) + sign * STANDOFF
        for size, rgba, shift in ((PLATE_SIZE, PLATE_RGBA, 0.0), (TEXT_SIZE, TEXT_RGBA, 0.001)):
            base = sum(len(v) for v in verts)
            verts.append(_quad(x + sign * shift, 0.0, zc, size, front))
            tris.append(np.array([[0, 1, 2], [0, 2, 3]]) + base)
            colours.append(np.tile(np.array(rgba, dtype=np.uint8), (4, 1)))
    if not verts:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64), np.zeros((0, 4), np.uint8)
    return np.vstack(verts), np.vstack(tris).astype(np.int64), np.vstack(colours)


def plate_mesh(vertices: np.ndarray, faces: np.ndarray, heights: tuple[float, float]):
    """The plates of a mesh (:func:`plate_geometry`) as a vertex-coloured ``trimesh.Trimesh``,
    or ``None`` when rays at neither end meet the mesh."""
    import trimesh

    new_v, new_f, new_c = plate_geometry(vertices, faces, heights)
    if len(new_f) == 0:
        return None
    return trimesh.Trimesh(vertices=new_v, faces=new_f, vertex_colors=new_c, process=False)
