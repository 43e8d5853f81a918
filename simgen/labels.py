"""Instance labels from an instance map plus each object's exactly rasterized silhouette.

Backend-independent numpy. Boxes are ``(x0, y0, x1, y1)`` half-open integer pixel bounds taken
from masks. The *visible* mask of an instance is where the renderer's instance map holds its id;
its *amodal* mask is the union of its projected triangles (a pixel belongs to a triangle when
the pixel's centre lies inside it), clipped to the image. When the renderer drew the full
silhouettes (:meth:`RenderOutput.amodal_mask`) and an object projects wholly inside the image,
that mask is used; otherwise (and for the box of an object cut by the border, which needs the
part outside the image) the triangles are rasterized on the CPU with the same rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from simgen.assets import Asset
from simgen.geometry import project, transform_points
from simgen.render.base import RenderOutput
from simgen.scene import CameraView, SceneSample

Box = tuple[int, int, int, int]

MAX_ROW_SPANS = 2_000_000
"""(triangle, row) pairs processed per rasterization chunk (bounds memory)."""


@dataclass(frozen=True)
class Instance:
    """The labels of one visible object in one image.

    Attributes:
        instance_id: the object's id in the scene.
        category: category name.
        mask: (H, W) bool visible mask.
        bbox: tight half-open box of ``mask``.
        area: visible pixel count.
        amodal_bbox: tight box of the full projected silhouette, clipped to the image
            afterwards (BOP's ``bbox_obj`` convention).
        amodal_area: pixel count of the silhouette inside the image.
        visib_fract: ``area / amodal_area``.
        ignore: ``visib_fract`` is below the dataset's visibility threshold.
        amodal_mask: (H, W) bool full silhouette inside the image (contains ``mask``).
    """

    instance_id: int
    category: str
    mask: np.ndarray = field(repr=False)
    bbox: Box
    area: int
    amodal_bbox: Box
    amodal_area: int
    visib_fract: float
    ignore: bool
    amodal_mask: np.ndarray = field(repr=False)


def mask_bbox(mask: np.ndarray) -> Box:
    """Tight half-open ``(x0, y0, x1, y1)`` of a non-empty (H, W) bool mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        raise ValueError("empty mask has no bounding box")
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _edge_values(start: np.ndarray, end: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Edge function of the edge ``start -> end`` at pixel centres ``(px, py)`` (float64):
    ``(ex - sx) * (py - sy) - (ey - sy) * (px - sx)``; > 0 on its left (y down: its right)."""
    return (end[:, 0] - start[:, 0]) * (py - start[:, 1]) - (end[:, 1] - start[:, 1]) * (
        px - start[:, 0]
    )


def _row_spans(tri: np.ndarray, py: np.ndarray, lo: np.ndarray, hi: np.ndarray, sign: float):
    """Per (triangle, row) pair, the columns ``[first, last]`` whose pixel centres satisfy
    ``sign * edge >= 0`` for all three edges, within ``[lo, hi]`` (float64, integer valued).

    On one row an edge function is an affine function of the column, and its float64 value is
    monotonic in the column (each rounding is), so the set of columns on one side of an edge
    is a run; its end is estimated where the edge crosses the row and settled by evaluating
    the edge function itself at the neighbouring columns, so the runs hold exactly the columns
    a per-pixel test accepts.
    """
    first, last = lo.copy(), hi.copy()
    for k in range(3):
        p0, p1 = tri[:, k], tri[:, (k + 1) % 3]
        dy = p1[:, 1] - p0[:, 1]  # the edge function falls with the column when dy > 0
        at = (p1[:, 0] - p0[:, 0]) * (py - p0[:, 1])  # its value at px = p0x
        flat = dy == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            cross = np.where(flat, 0.0, p0[:, 0] + at / np.where(flat, 1.0, dy))
        guess = np.floor(np.clip(cross, lo - 2, hi + 2))
        here = sign * _edge_values(p0, p1, guess, py) >= 0
        right = sign * _edge_values(p0, p1, guess + 1, py) >= 0
        left = sign * _edge_values(p0, p1, guess - 1, py) >= 0
        # The condition holds left of the crossing (up to its last column) or right of it
        # (from its first column); the crossing is within a column of the guess.
        holds_left = (dy * sign) > 0
        last_col = np.where(right, guess + 1, np.where(here, guess, guess - 1))
        first_col = np.where(here, np.where(left, guess - 1, guess), guess + 1)
        none = np.where(sign * at >= 0, 0.0, np.inf)  # a flat edge keeps all columns or none
        last = np.where(flat, last - none, np.where(holds_left, np.minimum(last, last_col), last))
        first = np.where(flat | holds_left, first, np.maximum(first, first_col))
    return first, last


def triangle_runs(
    uv: np.ndarray,
    faces: np.ndarray,
    width: int,
    height: int,
    rows: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The runs of pixels a set of 2D triangles covers, row by row.

    Args:
        uv: (N, 2) float64 vertex positions in pixels; the centre of pixel (col, row) is at
            ``(col, row)``.
        faces: (M, 3) int vertex indices.
        width, height: image size.
        rows: ``(top, bottom)``, inclusive, within the image: walk only these rows (each row's
            runs are computed on their own, so they are exactly the runs of the whole walk
            that lie in these rows). Default: every row.

    Returns:
        ``(rows, first, last)``: (R,) int64 arrays, one entry per non-empty run (runs of
        different triangles may overlap): the pixels ``(row, first..last)`` inside the image
        whose centres lie inside or on the boundary of a triangle (either winding): where the
        three edge functions, evaluated in float64, are all >= 0 or all <= 0. Each triangle is
        walked row by row, one run of columns per row and winding (:func:`_row_spans`).
    """
    tri = uv[faces].astype(np.float64)  # (M, 3, 2)
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    lo, hi = _pixel_bounds(a, b, c)
    top, bottom = (0, height - 1) if rows is None else rows
    x0 = np.clip(lo[:, 0], 0, width - 1)
    y0 = np.clip(lo[:, 1], top, bottom).astype(np.int64)
    x1 = np.clip(hi[:, 0], -1, width - 1)
    y1 = np.clip(hi[:, 1], top - 1, bottom).astype(np.int64)
    doubled_area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (
        c[:, 0] - a[:, 0]
    )
    keep = (
        (x1 >= x0)
        & (y1 >= y0)
        & (hi[:, 0] >= 0)
        & (hi[:, 1] >= 0)
        & (lo[:, 0] <= width - 1)
        & (lo[:, 1] <= height - 1)
        & (np.abs(doubled_area) > 1e-12)
    )
    idx = np.flatnonzero(keep)
    # A pixel centre passes with one winding only: with all three edge functions <= 0 their
    # exact sum, the doubled area, would be <= 0. Each is computed in float64 with an error
    # far below 1e-9 of the square of the extent it is evaluated over (the triangle's box and
    # a column either side), so a triangle whose doubled area is beyond that on one side
    # needs only its own winding's runs; smaller ones get both.
    extent = np.maximum(hi[:, 0] - lo[:, 0], hi[:, 1] - lo[:, 1]) + 4.0
    sure = np.abs(doubled_area) > 1e-9 * extent * extent
    windings = {
        1.0: ~sure | (doubled_area > 0),
        -1.0: ~sure | (doubled_area < 0),
    }
    run_rows: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    firsts: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    lasts: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    rows_per = y1[idx] - y0[idx] + 1
    ends = np.cumsum(rows_per)
    start = 0
    while start < len(idx):
        base = ends[start - 1] if start else 0
        stop = max(start + 1, int(np.searchsorted(ends, base + MAX_ROW_SPANS, side="right")))
        n = rows_per[start:stop]
        owner = np.repeat(np.arange(start, stop), n)
        py = (y0[idx][owner] + np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)).astype(
            np.float64
        )
        t_all = idx[owner]
        for sign, needed in windings.items():
            pick = needed[t_all]
            t, rows_y = t_all[pick], py[pick]
            first, last = _row_spans(tri[t], rows_y, x0[t], x1[t], sign)
            run = first <= last
            run_rows.append(rows_y[run].astype(np.int64))
            firsts.append(first[run].astype(np.int64))
            lasts.append(last[run].astype(np.int64))
        start = stop
    return np.concatenate(run_rows), np.concatenate(firsts), np.concatenate(lasts)


def paint_runs(
    rows: np.ndarray, first: np.ndarray, last: np.ndarray, width: int, height: int
) -> np.ndarray:
    """(height, width) bool mask of the union of runs ``(rows, first..last)`` (int64 arrays
    as :func:`triangle_runs` returns them, inside the image), accumulated in a difference
    image of the rows that hold runs."""
    mask = np.zeros((height, width), dtype=bool)
    if len(rows) == 0:
        return mask
    top, bottom = int(rows.min()), int(rows.max()) + 1
    opened = (rows - top) * (width + 1) + first
    size = (bottom - top) * (width + 1)
    marks = np.bincount(opened, minlength=size) - np.bincount(
        opened + (last - first + 1), minlength=size
    )
    mask[top:bottom] = (
        np.cumsum(marks.reshape(bottom - top, width + 1), axis=1, dtype=np.int32)[:, :width] > 0
    )
    return mask


def rasterize_triangles(uv: np.ndarray, faces: np.ndarray, width: int, height: int) -> np.ndarray:
    """Union of 2D triangles as an (H, W) bool mask: the pixels of :func:`triangle_runs`
    (same arguments)."""
    return paint_runs(*triangle_runs(uv, faces, width, height), width, height)


def camera_points(
    asset: Asset,
    object_pose: np.ndarray,
    scale: float,
    view: CameraView,
    points: np.ndarray | None = None,
) -> np.ndarray:
    """(N, 3) float64 vertices of a scaled, posed mesh (or the given (N, 3) ``points`` of it,
    object frame) in ``view``'s camera frame (OpenCV)."""
    world = transform_points(object_pose, (asset.vertices if points is None else points) * scale)
    return transform_points(np.linalg.inv(view.pose), world)


def silhouette(
    asset: Asset, object_pose: np.ndarray, scale: float, view: CameraView
) -> tuple[np.ndarray, Box | None]:
    """Full (amodal) silhouette of a scaled, posed mesh seen from ``view``.

    Returns:
        ``(mask, box)``: the (H, W) bool silhouette clipped to the image, and the tight box of
        the *unclipped* silhouette clipped to the image afterwards (``None`` if it is empty).
        The two boxes differ only for objects cut by the image border, where the clipped part
        can be wider or taller than the part inside (BOP's ``bbox_obj`` convention).

    Triangles with a vertex at or behind the near plane are skipped (an object cut by the near
    plane is rare; :func:`annotate` ORs the visible mask in). The canvas used for the unclipped
    box extends at most one image size beyond each border.
    """
    width, height = view.width, view.height
    cam = camera_points(asset, object_pose, scale, view)
    faces = asset.faces
    in_front = cam[:, 2] > view.znear
    faces = faces[in_front[faces[:, 0]] & in_front[faces[:, 1]] & in_front[faces[:, 2]]]
    if len(faces) == 0:
        return np.zeros((height, width), dtype=bool), None
    uv = np.zeros((len(cam), 2))
    uv[in_front] = project(view.K, cam[in_front])
    used = np.zeros(len(cam), dtype=bool)
    used[faces.ravel()] = True
    u, v = uv[used, 0], uv[used, 1]
    x_lo = int(np.clip(np.floor(u.min()), -width, 0))
    y_lo = int(np.clip(np.floor(v.min()), -height, 0))
    x_hi = int(np.clip(np.ceil(u.max()), width - 1, 2 * width))
    y_hi = int(np.clip(np.ceil(v.max()), height - 1, 2 * height))
    # Runs are found on a canvas around the image and the silhouette (the coordinates stay
    # those of that canvas whatever is walked, so every pixel centre is tested with the same
    # float64 numbers): the runs inside the image are the mask, and the unclipped silhouette's
    # box, clipped to the image, is the box (_clipped_box walks only what can change it).
    canvas = uv - (x_lo, y_lo)
    size = (x_hi - x_lo + 1, y_hi - y_lo + 1)
    image = (-x_lo, -y_lo, width - 1 - x_lo, height - 1 - y_lo)  # inclusive, canvas pixels
    lo, hi = _pixel_bounds(canvas[faces[:, 0]], canvas[faces[:, 1]], canvas[faces[:, 2]])
    over = (hi[:, 0] >= image[0]) & (lo[:, 0] <= image[2])
    over &= (hi[:, 1] >= image[1]) & (lo[:, 1] <= image[3])
    rows, first, last = triangle_runs(canvas, faces[over], *size, rows=(image[1], image[3]))
    inside = (last >= image[0]) & (first <= image[2])
    mask = paint_runs(
        rows[inside] - image[1],
        np.maximum(first[inside], image[0]) - image[0],
        np.minimum(last[inside], image[2]) - image[0],
        width,
        height,
    )
    bounds = _clipped_box(canvas, faces, size, image, lo, hi, (rows, first, last))
    if bounds is None:
        return mask, None
    box = (
        bounds[0] - image[0],
        bounds[1] - image[1],
        bounds[2] + 1 - image[0],
        bounds[3] + 1 - image[1],
    )
    if box[0] >= box[2] or box[1] >= box[3]:
        return mask, None
    return mask, box


SILHOUETTE_BATCH = 512
"""Triangles walked per round when :func:`_clipped_box` looks past the image for a box side."""


def _pixel_bounds(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(M, 2) float64 ``(lo, hi)``: the first and last pixel column and row whose centres the
    box of each triangle with (M, 2) float64 corners ``a``, ``b``, ``c`` holds (the bounds
    :func:`triangle_runs` walks, before clipping)."""
    # np.minimum of the three corners: far faster than a reduction over an axis of length 3
    lo = np.ceil(np.minimum(np.minimum(a, b), c) - 1e-9)
    hi = np.floor(np.maximum(np.maximum(a, b), c) + 1e-9)
    return lo, hi


def _reach(found: list[float], image: Box, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(M,) float64: how far past the sides found so far each triangle's box reaches, in
    pixels, counting only the sides not yet at the image's border (<= 0: it cannot move any)."""
    reach = np.full(len(lo), -np.inf)
    if found[0] > image[0]:
        reach = np.maximum(reach, found[0] - lo[:, 0])
    if found[1] > image[1]:
        reach = np.maximum(reach, found[1] - lo[:, 1])
    if found[2] < image[2]:
        reach = np.maximum(reach, hi[:, 0] - found[2])
    if found[3] < image[3]:
        reach = np.maximum(reach, hi[:, 1] - found[3])
    return reach


def _clipped_box(
    uv: np.ndarray,
    faces: np.ndarray,
    size: tuple[int, int],
    image: Box,
    lo: np.ndarray,
    hi: np.ndarray,
    walked: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> Box | None:
    """The box of every run of ``faces`` on a canvas, each side clipped to ``image``.

    Args:
        uv, faces: canvas positions (N, 2) float64 and (M, 3) int triangles.
        size: the canvas' ``(width, height)``.
        image: ``(x0, y0, x1, y1)`` inclusive pixel bounds of the image on the canvas.
        lo, hi: :func:`_pixel_bounds` of the triangles ``faces``.
        walked: ``(rows, first, last)``: some of the runs (those in the image's rows).

    Returns:
        ``(first column, first row, last column, last row)`` (inclusive, canvas pixels) of all
        the runs, each clipped to ``image``; ``None`` when no triangle covers a pixel centre.
        A side already at the image's border cannot move once clipped, and a triangle whose
        box does not reach past a side that can cannot move it, so only the triangles that
        reach farthest past a side are walked, whole, a batch at a time, until none is left
        that could move one (a triangle's runs lie within its box, so this is exact).
    """
    rows, first, last = walked
    if len(rows):
        found = [float(first.min()), float(rows.min()), float(last.max()), float(rows.max())]
    else:
        found = [np.inf, np.inf, -np.inf, -np.inf]
    remaining = np.arange(len(faces))
    while len(remaining):
        reach = _reach(found, image, lo[remaining], hi[remaining])
        past = reach > 0
        remaining, reach = remaining[past], reach[past]
        if len(remaining) == 0:
            break
        if len(remaining) > SILHOUETTE_BATCH:
            order = np.argpartition(-reach, SILHOUETTE_BATCH)
            batch = remaining[order[:SILHOUETTE_BATCH]]
            remaining = remaining[order[SILHOUETTE_BATCH:]]
        else:
            batch, remaining = remaining, remaining[:0]
        rows, first, last = triangle_runs(uv, faces[batch], *size)
        if len(rows):
            found = [
                min(found[0], float(first.min())),
                min(found[1], float(rows.min())),
                max(found[2], float(last.max())),
                max(found[3], float(rows.max())),
            ]
    if not np.isfinite(found[0]):
        return None
    return (
        int(min(max(found[0], image[0]), image[2] + 1)),
        int(min(max(found[1], image[1]), image[3] + 1)),
        int(min(max(found[2], image[0] - 1), image[2])),
        int(min(max(found[3], image[1] - 1), image[3])),
    )


def inside_window(
    asset: Asset, object_pose: np.ndarray, scale: float, view: CameraView
) -> Box | None:
    """The pixels an object can cover, when it projects wholly inside the image.

    Returns ``None`` unless every vertex is in front of the near plane and projects strictly
    within one pixel of the image's pixel centres (then no pixel centre outside the image can
    be covered, so the silhouette inside the image is the whole silhouette). Otherwise the
    half-open box of the vertices' projections, widened by a pixel on each side (a renderer
    snaps vertices to a sub-pixel grid) and clipped to the image: every pixel whose centre a
    triangle covers lies in it. Only the vertices of the mesh's convex hull are projected
    (:attr:`Asset.outline_vertices`): the projection's extremes lie among them.
    """
    cam = camera_points(asset, object_pose, scale, view, asset.outline_vertices)
    if not (cam[:, 2] > view.znear).all():
        return None
    uv = project(view.K, cam)
    lo, hi = uv.min(axis=0), uv.max(axis=0)
    if lo[0] <= -1 or lo[1] <= -1 or hi[0] >= view.width or hi[1] >= view.height:
        return None
    return (
        max(int(np.floor(lo[0])) - 1, 0),
        max(int(np.floor(lo[1])) - 1, 0),
        min(int(np.ceil(hi[0])) + 2, view.width),
        min(int(np.ceil(hi[1])) + 2, view.height),
    )


def _offset(box: Box, window: Box) -> Box:
    """A box in a window's coordinates -> image coordinates."""
    return box[0] + window[0], box[1] + window[1], box[2] + window[0], box[3] + window[1]


def _paste(crop: np.ndarray, window: Box, shape: tuple[int, int]) -> np.ndarray:
    """An (H, W) bool image that is ``crop`` inside ``window`` and False elsewhere."""
    full = np.zeros(shape, dtype=bool)
    full[window[1] : window[3], window[0] : window[2]] = crop
    return full


def _windowed_instance(
    obj, ids: np.ndarray, output: RenderOutput, window: Box, area: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """(visible, amodal) crops of ``window`` from the instance map and the silhouette words, or
    ``None`` when some visible pixel lies outside the window (never expected; checked against
    the instance's pixel count so that labels stay exact)."""
    x0, y0, x1, y1 = window
    visible = ids[y0:y1, x0:x1] == obj.instance_id
    if int(np.count_nonzero(visible)) != area:
        return None
    rendered = output.amodal_mask(obj.instance_id, window)
    return visible, rendered | visible


def _union(a: Box, b: Box | None) -> Box:
    if b is None:
        return a
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def annotate(
    sample: SceneSample,
    view_index: int,
    output: RenderOutput,
    assets: Sequence[Asset],
    *,
    visib_threshold: float = 0.1,
) -> list[Instance]:
    """Labels for every object with at least one visible pixel in view ``view_index``.

    Objects that are fully hidden or outside the image get no annotation. An object that
    projects wholly inside the image and whose full silhouette the renderer drew is labeled
    from the pixels of its :func:`inside_window` only; any other object from the whole image,
    with its silhouette rasterized on the CPU by :func:`silhouette`.
    """
    view = sample.views[view_index]
    ids = output.instance_ids
    if ids is None:
        raise ValueError("annotate needs the renderer's instance-id map")
    shape = (view.height, view.width)
    counts = np.bincount(ids.ravel())
    instances = []
    for obj in sample.objects:
        area = int(counts[obj.instance_id]) if obj.instance_id < len(counts) else 0
        if area == 0:
            continue
        asset = assets[obj.catalog_index]
        window = crops = None
        if obj.instance_id in output.amodal_slots:
            window = inside_window(asset, obj.pose, obj.scale, view)
            if window is not None:
                crops = _windowed_instance(obj, ids, output, window, area)
        if crops is not None and window is not None:
            visible_crop, amodal_crop = crops
            visible: np.ndarray = _paste(visible_crop, window, shape)
            amodal = _paste(amodal_crop, window, shape)
            bbox = _offset(mask_bbox(visible_crop), window)
            amodal_bbox = _offset(mask_bbox(amodal_crop), window)
            amodal_area = int(np.count_nonzero(amodal_crop))
        else:
            visible = ids == obj.instance_id
            full, full_box = silhouette(asset, obj.pose, obj.scale, view)
            amodal = full | visible
            bbox = mask_bbox(visible)
            amodal_bbox = _union(mask_bbox(amodal), full_box)
            amodal_area = int(np.count_nonzero(amodal))
        visib_fract = area / amodal_area
        instances.append(
            Instance(
                instance_id=obj.instance_id,
                category=obj.category,
                mask=visible,
                bbox=bbox,
                area=area,
                amodal_bbox=amodal_bbox,
                amodal_area=amodal_area,
                visib_fract=visib_fract,
                ignore=visib_fract < visib_threshold,
                amodal_mask=amodal,
            )
        )
    return instances
