"""Mesh catalog: loading, units, normalization, and built-in primitives.

An :class:`Asset` is a triangle mesh in its own object frame, in metres. Catalog meshes are
centred on their bounding-box centre (so the physics body's centre of mass is the mesh origin)
and optionally rescaled to a target size; imported models (BOP) keep their frame.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simgen.config import PYBULLET_DATA_PREFIX, MeshSource, SceneConfig
from simgen.errors import SimgenError
from simgen.physics.collision import MAX_HULL_VERTICES, ROUND_TOLERANCE, simplify_hull
from simgen.schema import ASSETS_PREFIX

UNIT_SCALE = {"m": 1.0, "cm": 0.01, "mm": 0.001}


@dataclass(frozen=True, eq=False)
class Asset:
    """A renderable, labelable mesh.

    Attributes:
        name: human-readable source (file path or ``primitive:box``).
        vertices: (N, 3) float64 vertex positions in metres, object frame.
        faces: (M, 3) int64 triangle vertex indices.
        mesh: the ``trimesh.Trimesh`` in the same frame, with its original visuals (without
            the decals).
        primitive: primitive name or ``None`` for a mesh file.
        textured: whether the mesh carries its own texture image or vertex colours.
        decals: ``None``, or a vertex-coloured ``trimesh.Trimesh`` added to the mesh (number
            plates, :mod:`simgen.plates`): its vertices and faces come last in ``vertices``
            and ``faces`` (labels include them), and it is drawn in its own colours whatever
            colour an instance takes.
    """

    name: str
    vertices: np.ndarray = field(repr=False)
    faces: np.ndarray = field(repr=False)
    mesh: Any = field(repr=False)
    primitive: str | None = None
    textured: bool = False
    decals: Any = field(default=None, repr=False)

    @functools.cached_property
    def extents(self) -> np.ndarray:
        """(3,) float64 bounding-box side lengths in metres (computed once; read-only)."""
        extents = self.vertices.max(axis=0) - self.vertices.min(axis=0)
        extents.setflags(write=False)
        return extents

    @functools.cached_property
    def outline_vertices(self) -> np.ndarray:
        """(K, 3) float64 rows of :attr:`vertices` that are vertices of their convex hull. A
        perspective projection's extreme coordinates over the mesh are attained at them, so
        bounding a projection needs only these (all vertices when the hull is degenerate)."""
        from scipy.spatial import ConvexHull, QhullError

        try:
            return self.vertices[np.sort(ConvexHull(self.vertices).vertices)]
        except (QhullError, ValueError):
            return self.vertices

    @functools.cached_property
    def round_radius(self) -> float | None:
        """Metres: for a ball-shaped mesh, the radius of a sphere about the origin (the
        bounding-box centre) from which every vertex of the convex hull lies at most half of
        ``ROUND_TOLERANCE`` times the longest side away; ``None`` when there is no such sphere.

        The physics lets such a mesh collide as that sphere, Bullet's own shape, which is both
        closer to it and cheaper than a simplified hull: the default football's hull vertices
        lie 39.64 to 40.12 mm from its centre, so the sphere of radius 39.88 mm is within
        0.24 mm of each, where its 128-vertex hull lies up to 1.23 mm inside the full hull.
        """
        hull = np.asarray(self.mesh.convex_hull.vertices, dtype=np.float64)
        distances = np.linalg.norm(hull, axis=1)
        lo, hi = float(distances.min()), float(distances.max())
        if hi - lo > ROUND_TOLERANCE * float(self.extents.max()):
            return None
        return (lo + hi) / 2

    @functools.cached_property
    def hull_vertices(self) -> np.ndarray:
        """(K, 3) float64 vertices of the physics collision shape: at most
        :data:`MAX_HULL_VERTICES` of the convex hull's vertices (:func:`simplify_hull`)."""
        hull = np.asarray(self.mesh.convex_hull.vertices, dtype=np.float64)
        return hull[simplify_hull(hull, MAX_HULL_VERTICES)]


def resolve_mesh_path(
    mesh: str, *, source: str | Path | None = None, field_name: str | None = None
) -> Path:
    """Turn a catalog ``mesh`` string into a path: ``pybullet_data:`` is looked up in pybullet,
    ``assets:PATH`` in simgen's asset library (:func:`simgen.library.resolve_asset_file`)."""
    if mesh.startswith(ASSETS_PREFIX):
        from simgen.library import resolve_asset_file

        return resolve_asset_file(mesh, source=source, field=field_name)
    if mesh.startswith(PYBULLET_DATA_PREFIX):
        try:
            import pybullet_data
        except ImportError as exc:  # pragma: no cover - pybullet is a hard dependency
            raise SimgenError("pybullet is not installed", field="mesh") from exc
        return Path(pybullet_data.getDataPath()) / mesh.removeprefix(PYBULLET_DATA_PREFIX)
    return Path(mesh)


def _has_own_colors(mesh) -> bool:
    visual = mesh.visual
    if getattr(visual, "kind", None) == "texture":
        material = getattr(visual, "material", None)
        image = getattr(material, "image", None) or getattr(material, "baseColorTexture", None)
        return image is not None and getattr(visual, "uv", None) is not None
    return getattr(visual, "kind", None) in ("vertex", "face")


def load_mesh_file(
    path: Path, *, units: str = "m", source: str | Path | None = None, field_name: str | None = None
):
    """Load a triangle mesh and convert it to metres, keeping its frame.

    Raises:
        SimgenError: if the file is missing, unreadable, not a mesh, or has no faces.
    """
    import trimesh

    from simgen.ply_ascii import install

    if not path.is_file():
        raise SimgenError(f"mesh file not found: {path}", file=source, field=field_name)
    install()  # ASCII PLY bodies parsed in one pass (trimesh's own results)
    try:
        loaded = trimesh.load(str(path), force="mesh", process=False)
    except Exception as exc:  # trimesh raises many types for corrupt files
        reason = " ".join(str(exc).split())[:120] or type(exc).__name__
        raise SimgenError(
            f"cannot read mesh {path}: {reason}", file=source, field=field_name
        ) from None
    faces = np.asarray(getattr(loaded, "faces", np.zeros((0, 3))), dtype=np.int64)
    vertices = np.asarray(getattr(loaded, "vertices", np.zeros((0, 3))), dtype=np.float64)
    if faces.ndim != 2 or len(faces) == 0 or len(vertices) == 0:
        raise SimgenError(f"mesh has no faces: {path}", file=source, field=field_name)
    if not np.isfinite(vertices).all():
        raise SimgenError(f"mesh has non-finite vertices: {path}", file=source, field=field_name)
    scale = UNIT_SCALE[units]
    if scale != 1.0:
        loaded.apply_scale(scale)
    return loaded


def _primitive_mesh(name: str):
    """Unit primitive (longest side 1), centred at the origin, z up."""
    import trimesh

    if name == "box":
        return trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    if name == "sphere":
        return trimesh.creation.icosphere(subdivisions=4, radius=0.5)
    if name == "cylinder":
        return trimesh.creation.cylinder(radius=0.5, height=1.0, sections=48)
    if name == "capsule":
        return trimesh.creation.capsule(height=0.5, radius=0.25, count=(24, 24))
    if name == "cone":
        return trimesh.creation.cone(radius=0.5, height=1.0, sections=48)
    raise ValueError(f"unknown primitive {name!r}")


def _asset_from_mesh(name: str, mesh, primitive: str | None) -> Asset:
    return Asset(
        name=name,
        vertices=np.asarray(mesh.vertices, dtype=np.float64),
        faces=np.asarray(mesh.faces, dtype=np.int64),
        mesh=mesh,
        primitive=primitive,
        textured=primitive is None and _has_own_colors(mesh),
    )


def _simplified(mesh, fraction: float, *, source: str | Path | None, field_name: str | None):
    """:func:`simgen.simplify.simplify_mesh`, its refusals as a :class:`SimgenError` on the
    entry's ``simplify`` field."""
    from simgen.simplify import simplify_mesh

    field = None if field_name is None else field_name.rsplit(".", 1)[0] + ".simplify"
    try:
        return simplify_mesh(mesh, fraction)
    except ValueError as exc:
        raise SimgenError(str(exc), file=source, field=field) from None


def load_entry(
    entry: MeshSource, *, source: str | Path | None = None, field_name: str | None = None
) -> Asset:
    """Load one catalog entry: simplified (``simplify``), centred on its bounding box, in
    metres, rescaled to ``size``."""
    if entry.primitive is not None:
        mesh = _primitive_mesh(entry.primitive)
        name = f"primitive:{entry.primitive}"
    else:
        path = resolve_mesh_path(entry.mesh or "", source=source, field_name=field_name)
        mesh = load_mesh_file(path, units=entry.units, source=source, field_name=field_name)
        name = entry.mesh or str(path)
        if entry.simplify is not None:
            mesh = _simplified(mesh, entry.simplify, source=source, field_name=field_name)
    lo, hi = mesh.bounds
    mesh.apply_translation(-(lo + hi) / 2.0)
    if entry.aspect is not None:
        mesh.apply_transform(np.diag([*entry.aspect, 1.0]))
        lo, hi = mesh.bounds
    if entry.size is not None:
        longest = float(np.max(hi - lo))
        if longest <= 0:
            raise SimgenError("mesh is degenerate (zero size)", file=source, field=field_name)
        mesh.apply_scale(entry.size / longest)
    asset = _asset_from_mesh(name, mesh, entry.primitive)
    if entry.plates is not None:
        from simgen.plates import plate_mesh

        decals = plate_mesh(asset.vertices, asset.faces, entry.plates)
        if decals is not None:
            asset = dataclasses.replace(
                asset,
                vertices=np.vstack([asset.vertices, decals.vertices]),
                faces=np.vstack([asset.faces, np.asarray(decals.faces) + len(asset.vertices)]),
                decals=decals,
            )
    return asset


_CACHE: dict[tuple, Asset] = {}


def catalog_entries(config: SceneConfig) -> list[tuple[str, MeshSource]]:
    """``(field path, entry)`` of every mesh a scene uses: labeled objects, then distractors.

    An object's ``catalog_index`` indexes this list (and :func:`load_catalog`'s result).
    """
    return [
        *((f"objects.catalog.{i}", e) for i, e in enumerate(config.objects.catalog)),
        *((f"distractors.catalog.{i}", e) for i, e in enumerate(config.distractors.catalog)),
    ]


def load_catalog(config: SceneConfig, *, source: str | Path | None = None) -> list[Asset]:
    """Load every mesh of a scene once per process; errors name e.g. ``objects.catalog.I.mesh``."""
    assets = []
    for path, entry in catalog_entries(config):
        key = (
            entry.mesh,
            entry.primitive,
            entry.units,
            entry.size,
            entry.aspect,
            entry.simplify,
            entry.plates,
        )
        if key not in _CACHE:
            _CACHE[key] = load_entry(entry, source=source, field_name=f"{path}.mesh")
        asset = _CACHE[key]
        if (
            entry.color in ("paint", "parts")
            and getattr(asset.mesh.visual, "kind", None) != "vertex"
        ):
            raise SimgenError(
                f"color '{entry.color}' repaints a mesh's vertex colours, and this mesh has none",
                file=source,
                field=f"{path}.color",
            )
        assets.append(asset)
    return assets


def warm_geometry(assets: Sequence[Asset]) -> None:
    """Compute the cached geometry that processes will need of every asset now: its collision
    shape (:class:`~simgen.physics.collision.CollisionModel`: :attr:`Asset.round_radius`, and
    :attr:`Asset.hull_vertices` only when it collides as its hull) and
    :attr:`Asset.outline_vertices` for the labels, so that the copies pickled to worker
    processes carry it and no process computes it again (about 1 s on the default catalog)."""
    from simgen.physics.collision import CollisionModel

    for asset in assets:
        CollisionModel.of(asset)  # fills the caches it reads
        asset.outline_vertices  # noqa: B018
