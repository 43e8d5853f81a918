"""Fewer triangles for dense meshes: quadric edge collapse, vertex colours carried along.

A scanned model (LM-O's are 12,000-46,000 triangles with edges of about 2 mm) costs a CPU
rasterizer its vertex and triangle set-up work once per view, however few pixels it covers.
:func:`simplify_mesh` keeps a fraction of the triangles with Garland-Heckbert quadric error
edge collapses (the ``fast-simplification`` package) and gives each kept vertex the mean
colour of the original vertices collapsed into it. The result is an ordinary mesh: the
renderer, the labels and the physics all use it, so the labels stay exact for what is drawn.
How far the shapes move is measured in docs/benchmarks.md ("Simplified scans").
"""

from __future__ import annotations

from typing import Any

import numpy as np

SPAN = 1000.0
"""Longest bounding-box side a mesh is scaled to while it is simplified (its own units do
not matter; docs/benchmarks.md, "Simplified scans")."""


def _fast_simplification():
    try:
        import fast_simplification
    except ImportError as exc:  # a core dependency; a broken install gets a clear message
        raise ImportError(
            "mesh simplification needs the 'fast-simplification' package: "
            "pip install fast-simplification (or re-run scripts/setup.sh)"
        ) from exc
    return fast_simplification


def collapse_vertices(
    vertices: np.ndarray, faces: np.ndarray, fraction: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quadric edge collapse down to ``fraction`` of the triangles.

    Deterministic: the same arrays give the same result.

    Args:
        vertices: (V, 3) float64 positions.
        faces: (F, 3) integer vertex indices.
        fraction: in (0, 1]; the share of triangles to keep (1 returns copies of the input).

    Returns:
        ``(vertices, faces, mapping)``: (V', 3) float64, (F', 3) int64 with F' close to
        ``fraction * F``, and (V,) int64 mapping each original vertex to the kept vertex it
        was collapsed into (-1 for a vertex no face used).

    Raises:
        ValueError: ``fraction`` outside (0, 1], or malformed arrays.
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], not {fraction}")
    if vertices.ndim != 2 or vertices.shape[1] != 3 or faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(
            f"expected (V, 3) vertices and (F, 3) faces, got {vertices.shape}, {faces.shape}"
        )
    used = np.unique(faces)
    if fraction == 1.0 or len(faces) < 2:
        mapping = np.full(len(vertices), -1, dtype=np.int64)
        mapping[used] = used
        return vertices.copy(), faces.copy(), mapping
    fs = _fast_simplification()
    # The library's collapse thresholds are absolute: the same shape in millimetres and in
    # metres would be simplified differently (in metres, far worse). It works on the mesh
    # moved and scaled to a fixed span instead, so units and placement do not matter.
    lo, hi = vertices[used].min(axis=0), vertices[used].max(axis=0)
    centre, span = (lo + hi) / 2.0, float(np.max(hi - lo))
    scale = SPAN / span if span > 0 else 1.0
    normalized = (vertices - centre) * scale
    kept, kept_faces, collapses = fs.simplify(
        normalized, faces.astype(np.int32), target_reduction=1.0 - fraction, return_collapses=True
    )
    replayed, replayed_faces, mapping = fs.replay_simplification(
        normalized, faces.astype(np.int32), collapses
    )
    if len(replayed) != len(kept) or not np.array_equal(replayed_faces, kept_faces):
        raise RuntimeError("fast-simplification's replay disagrees with its simplification")
    return (
        np.asarray(kept, dtype=np.float64) / scale + centre,
        np.asarray(kept_faces, dtype=np.int64),
        np.asarray(mapping, dtype=np.int64),
    )


def mean_colors(colors: np.ndarray, mapping: np.ndarray, count: int) -> np.ndarray:
    """Each kept vertex's colour: the rounded mean over the original vertices mapped to it.

    Args:
        colors: (V, C) uint8 per original vertex (C = 3 or 4).
        mapping: (V,) int64 kept-vertex index per original vertex, -1 for none.
        count: number of kept vertices V'.

    Returns:
        (V', C) uint8; a kept vertex nothing maps to (none in practice) gets 0.
    """
    colors = np.asarray(colors)
    ok = mapping >= 0
    index = mapping[ok]
    totals = np.stack(
        [
            np.bincount(index, colors[ok, c].astype(np.float64), count)
            for c in range(colors.shape[1])
        ],
        axis=1,
    )
    counts = np.bincount(index, minlength=count)[:, None]
    means = np.divide(totals, counts, out=np.zeros_like(totals), where=counts > 0)
    return np.clip(np.rint(means), 0, 255).astype(np.uint8)


def simplify_mesh(mesh: Any, fraction: float) -> Any:
    """A ``trimesh.Trimesh`` with ``fraction`` of ``mesh``'s triangles, in the same frame.

    Vertex colours (``visual.kind == "vertex"``) are averaged over each collapse; a mesh
    without colours stays without. A texture image (UVs) or per-face colours cannot be
    carried through edge collapses and raise ``ValueError``.

    Args:
        mesh: a ``trimesh.Trimesh``.
        fraction: in (0, 1]; 1 returns ``mesh`` itself.

    Raises:
        ValueError: a textured or face-coloured mesh, or ``fraction`` outside (0, 1].
    """
    import trimesh

    kind = getattr(mesh.visual, "kind", None)
    if kind not in (None, "vertex"):
        has = {"texture": "a texture image", "face": "face colours"}.get(kind, f"{kind} visuals")
        raise ValueError(
            f"only meshes with vertex colours or none can be simplified (this one has {has})"
        )
    if fraction == 1.0:
        return mesh
    vertices, faces, mapping = collapse_vertices(mesh.vertices, mesh.faces, fraction)
    colors = None
    if kind == "vertex":
        colors = mean_colors(np.asarray(mesh.visual.vertex_colors), mapping, len(vertices))
    return trimesh.Trimesh(vertices, faces, vertex_colors=colors, process=False)
