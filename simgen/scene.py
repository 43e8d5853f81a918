"""A sampled scene as plain data: frozen dataclasses that round-trip through JSON.

Conventions: metres; poses are 4x4 float64 homogeneous matrices mapping local coordinates to
world coordinates (z up, the ground's top face is z = 0); cameras use the OpenCV convention
(x right, y down, z forward) and ``K`` is the 3x3 pinhole matrix with pixel centres at integer
coordinates.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np


def _matrix(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


PartColours = tuple[tuple[tuple[float, float, float], tuple[float, float, float]], ...]
"""``((a part's sRGB vertex colour, its new sRGB colour), ...)``: an instance's repainted parts."""


def _part_colours(value: Any) -> PartColours | None:
    """A record's ``parts`` (nested JSON lists, or ``None``) as :data:`PartColours`."""
    if value is None:
        return None
    return tuple(
        (
            (float(src[0]), float(src[1]), float(src[2])),
            (float(dst[0]), float(dst[1]), float(dst[2])),
        )
        for src, dst in value
    )


@dataclass(frozen=True)
class ObjectInstance:
    """One labeled object.

    Attributes:
        instance_id: 1-based id, unique within the scene (0 is background in instance maps).
        catalog_index: index into ``config.objects.catalog``.
        category: category name.
        scale: uniform scale applied to the catalog's normalized mesh.
        color: RGBA in [0, 1], or ``None`` to keep the mesh's own colours.
        metallic, roughness: PBR parameters; an instance that keeps its mesh's own colours
            (``color`` and ``parts`` ``None``) is lit with the mesh's own material instead
            (vertex colours: pyrender's metallic 0.2 and roughness 0.8; an OBJ texture:
            metallic 0 and the roughness pyrender derives from its ``.mtl``).
        pose: (4, 4) float64 world-from-object transform.
        labeled: False for distractors (they occlude but get no annotation).
        texture: drawn texture parameters (:mod:`simgen.randomize.texture`) or ``None``.
        mesh: the catalog entry's mesh as the scene names it (``assets:driving/cars/q_suv.ply``,
            ``pybullet_data:duck.obj``, a path, or ``primitive:box``); ``None`` in records
            written before simgen stored it.
        paint: ``None``, or ``color`` repaints the mesh's own vertex colours instead of
            replacing them, keeping those darker than this fraction of the paint level
            (``materials.paint.keep_below``; :func:`simgen.render.colour.paint_vertex_colors`).
        parts: ``None``, or (``color: parts``) the mesh's own vertex colours with these parts
            repainted (:func:`simgen.render.colour.recolor_parts`); ``color`` is then ``None``.
            ``()``: the mesh's own colours (or texture), lit with ``metallic`` and ``roughness``
            (a catalog entry with its own ``metallic`` or ``roughness`` range).
    """

    instance_id: int
    catalog_index: int
    category: str
    scale: float
    color: tuple[float, float, float, float] | None
    metallic: float
    roughness: float
    pose: np.ndarray = field(repr=False)
    labeled: bool = True
    texture: dict | None = None
    mesh: str | None = None
    paint: float | None = None
    parts: PartColours | None = None


@dataclass(frozen=True)
class Prop:
    """A static, unlabeled box (e.g. a bin wall): rendered, collides, never annotated.

    Attributes:
        extents: (3,) side lengths in metres.
        pose: (4, 4) world-from-box transform (box centred at its origin).
        color: RGBA in [0, 1].
        texture: drawn texture parameters (:mod:`simgen.randomize.texture`) on every face, or
            ``None`` for the flat colour.
        tile: metres one texture repeat covers.
    """

    extents: tuple[float, float, float]
    pose: np.ndarray = field(repr=False)
    color: tuple[float, float, float, float] = (0.5, 0.5, 0.5, 1.0)
    texture: dict | None = None
    tile: float = 1.0


@dataclass(frozen=True)
class Light:
    """A light; ``pose`` is world-from-light with the light shining along its local -z."""

    kind: str
    color: tuple[float, float, float]
    intensity: float
    pose: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class CameraView:
    """One camera: ``K`` (3, 3) float64 and ``pose`` (4, 4) world-from-camera (OpenCV axes)."""

    width: int
    height: int
    K: np.ndarray = field(repr=False)
    pose: np.ndarray = field(repr=False)
    znear: float = 0.01
    zfar: float = 20.0


@dataclass(frozen=True)
class SceneSample:
    """Everything drawn for one scene; rendering and labeling are pure functions of it."""

    scene_index: int
    seed: int
    objects: tuple[ObjectInstance, ...]
    lights: tuple[Light, ...]
    views: tuple[CameraView, ...]
    ground_size: float
    ground_color: tuple[float, float, float, float]
    background_color: tuple[float, float, float]
    ambient: float
    shadows: bool
    settled: bool = False
    props: tuple[Prop, ...] = ()
    ground_texture: dict | None = None
    ground_tile: float = 0.5
    background_texture: dict | None = None
    background_composite: bool = True
    held: tuple[int, ...] = ()
    """Instance ids the physics settle holds fixed (``placement.hold_upright``); written to the
    record only when there are any."""
    antialias: bool = True
    """Whether the shaded pass is multisampled (``image.antialias``); written to the record
    only when ``False``."""

    def with_poses(self, poses: list[np.ndarray], *, settled: bool) -> SceneSample:
        """Return a copy whose objects have the given (4, 4) poses (e.g. after physics)."""
        objects = tuple(
            replace(obj, pose=_matrix(p)) for obj, p in zip(self.objects, poses, strict=True)
        )
        return replace(self, objects=objects, settled=settled)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (numpy arrays become nested lists)."""

        def convert(value: Any) -> Any:
            if isinstance(value, np.ndarray):
                return value.tolist()
            if isinstance(value, dict):
                return {k: convert(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [convert(v) for v in value]
            return value

        data = convert(asdict(self))
        if not self.held:
            del data["held"]  # records of scenes that hold nothing keep their bytes
        if self.antialias:
            del data["antialias"]  # likewise for the default
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SceneSample:
        """Inverse of :meth:`to_dict`."""

        def rgba(v: Any) -> tuple[float, ...] | None:
            return None if v is None else tuple(float(x) for x in v)

        objects = tuple(
            ObjectInstance(
                **{
                    **o,
                    "color": rgba(o["color"]),
                    "pose": _matrix(o["pose"]),
                    "parts": _part_colours(o.get("parts")),
                }
            )
            for o in data["objects"]
        )
        lights = tuple(
            Light(**{**li, "color": tuple(li["color"]), "pose": _matrix(li["pose"])})
            for li in data["lights"]
        )
        views = tuple(
            CameraView(**{**v, "K": _matrix(v["K"]), "pose": _matrix(v["pose"])})
            for v in data["views"]
        )
        props = tuple(
            Prop(
                extents=tuple(p["extents"]),
                pose=_matrix(p["pose"]),
                color=tuple(p["color"]),
                texture=p.get("texture"),
                tile=float(p.get("tile", 1.0)),
            )
            for p in data.get("props", [])
        )
        return cls(
            **{
                **data,
                "objects": objects,
                "lights": lights,
                "views": views,
                "props": props,
                "held": tuple(int(i) for i in data.get("held", ())),
                "ground_color": tuple(data["ground_color"]),
                "background_color": tuple(data["background_color"]),
            }
        )
