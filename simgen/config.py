"""Typed, validated scene configuration (the contents of ``scenes/*.yaml``).

Every model rejects unknown keys and is frozen. :func:`load_config` reads a YAML file, applies
``--set key=value`` overrides, resolves mesh paths relative to the file, and turns any
validation problem into a one-line :class:`~simgen.errors.SimgenError` naming the file and the
dotted path of the field.
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from simgen.dataset.versions import SCHEMA_VERSION, check_current_version, upgrade_config
from simgen.effects import EffectConfig
from simgen.errors import SimgenError
from simgen.randomize.texture import TextureConfig
from simgen.ranges import (
    MAX_OBJECTS,  # noqa: F401 - re-exported for config users
    RGB,
    AtLeastOneRange,
    Count0To16Range,
    Count0To64Range,
    Degrees0To90Range,
    DegreesPlusMinus90Range,
    FloatRange,
    Kelvin1000To40000Range,
    NonNegativeRange,
    ObjectCountRange,
    OpenDegrees0To180Range,
    PlusMinus45Range,
    PositiveRange,
    ZeroOneRange,
)
from simgen.schema import (
    ASSETS_PREFIX,
    PYBULLET_DATA_PREFIX,
    ColorSpec,
    _Model,
)


class ImageConfig(_Model):
    width: int = Field(640, gt=0, le=8192, description="Image width in pixels.")
    height: int = Field(480, gt=0, le=8192, description="Image height in pixels.")
    antialias: bool = Field(
        True,
        description="Draw the shaded pass with 4x multisampling (smooth edges). false: one "
        "sample per pixel, jagged edges, a fifth to a quarter less time per image on a CPU "
        "(docs/benchmarks.md); labels are the same either way.",
    )


class IntrinsicsConfig(_Model):
    """Pinhole intrinsics in pixels (OpenCV convention: pixel centres at integer coordinates)."""

    fx: float = Field(gt=0)
    fy: float = Field(gt=0)
    cx: float
    cy: float


class RoadCameraConfig(_Model):
    """``camera.mode: road``: a camera on a car in a lane, looking down the road (``placement.
    mode: road``), as KITTI's: about 1.65 m up, level, along the lane."""

    height: PositiveRange = Field((1.55, 1.75), description="Metres above the road.")
    pitch_deg: PlusMinus45Range = Field((-1.5, 1.5), description="Degrees up (+) or down.")
    yaw_deg: PlusMinus45Range = Field((-3.0, 3.0), description="Degrees off the lane direction.")
    lateral: NonNegativeRange = Field(
        (0.0, 0.4), description="Metres off the lane centre (either side)."
    )


class CameraConfig(_Model):
    """Camera views on a sphere around a jittered look-at point at the centre of the table
    (``mode: orbit``), or from a car in a lane (``mode: road``, with ``placement.mode: road``)."""

    mode: Literal["orbit", "road"] = Field(
        "orbit", description="orbit: around the table centre; road: from a lane (see road)."
    )
    road: RoadCameraConfig = RoadCameraConfig()
    distance: PositiveRange = Field((0.6, 1.1), description="Metres from the look-at point.")
    elevation_deg: DegreesPlusMinus90Range = Field(
        (25.0, 75.0), description="Degrees above the table plane."
    )
    azimuth_deg: FloatRange = Field((0.0, 360.0), description="Degrees around the vertical axis.")
    look_at_jitter: float = Field(
        0.05, ge=0, description="Half-size in metres of the cube the look-at point is drawn from."
    )
    fov_deg: OpenDegrees0To180Range = Field(
        (40.0, 60.0), description="Vertical field of view; ignored when intrinsics are set."
    )
    roll_deg: FloatRange = Field((0.0, 0.0), description="In-plane rotation about the view axis.")
    intrinsics: IntrinsicsConfig | None = Field(None, description="Fixed K; overrides fov_deg.")
    znear: float = Field(0.01, gt=0)
    zfar: float = Field(20.0, gt=0)

    @model_validator(mode="after")
    def _near_far(self) -> CameraConfig:
        if self.znear >= self.zfar:
            raise ValueError("znear must be smaller than zfar")
        return self


Primitive = Literal["box", "sphere", "cylinder", "capsule", "cone"]

RoadZone = Literal["lane", "parked", "bike", "sidewalk", "crossing", "roadside", "flying"]
"""Where a road placement puts an instance (:mod:`simgen.randomize.road`)."""


class MeshSource(_Model):
    """A mesh file or a primitive, its units and size, and how instances of it are drawn."""

    mesh: str | None = Field(
        None,
        description="Mesh file (obj, ply, stl, glb …), relative to the scene file, "
        "'pybullet_data:NAME' for a file shipped with pybullet, or 'assets:PATH' for a mesh "
        "of simgen's asset library (e.g. assets:driving/cars/q_suv.ply; `simgen assets`).",
    )
    primitive: Primitive | None = Field(None, description="A unit primitive instead of a mesh.")
    units: Literal["m", "cm", "mm"] = Field("m", description="Units of the mesh file.")
    simplify: float | None = Field(
        None,
        gt=0,
        le=1,
        description="If set, keep this fraction of a mesh file's triangles (quadric edge "
        "collapse; vertex colours averaged) when it is loaded; renders, labels and physics all "
        "use the simplified mesh. For dense scans: scenes/lmo.yaml keeps 0.25 of LM-O's, whose "
        "boxes at BOP's poses then match the full models' to within 1 px (docs/benchmarks.md).",
    )
    size: float | None = Field(
        None,
        gt=0,
        description="If set, the mesh is rescaled so its longest side is this many metres.",
    )
    aspect: (
        tuple[
            Annotated[float, Field(gt=0)],
            Annotated[float, Field(gt=0)],
            Annotated[float, Field(gt=0)],
        ]
        | None
    ) = Field(
        None,
        description="Per-axis stretch (x, y, z) applied before 'size', e.g. [4.5, 1.8, 1.5] "
        "turns the unit box into a car-shaped box.",
    )
    scale: PositiveRange = Field((1.0, 1.0), description="Random scale factor per instance.")
    plates: (
        tuple[Annotated[float, Field(gt=0, lt=1)], Annotated[float, Field(gt=0, lt=1)]] | None
    ) = Field(
        None,
        description="Number plates (white, a European plate's size) on the front and back of a "
        "vehicle mesh heading +x, centred at these fractions of its height "
        "(front, back), on its outermost surface there; part of the mesh and its labels "
        "(simgen.plates).",
    )
    color: ColorSpec = "random"
    metallic: ZeroOneRange | None = Field(
        None,
        description="If set, this entry's instances draw their metallic factor from this range "
        "instead of materials.metallic (e.g. [0, 0] for scanned plastic objects that keep "
        "their own colours: without an environment map a metallic surface loses its diffuse "
        "light and renders darker than its scan).",
    )
    roughness: ZeroOneRange | None = Field(
        None,
        description="If set, this entry's instances draw their roughness from this range "
        "instead of materials.roughness.",
    )
    weight: float = Field(1.0, gt=0, description="Relative frequency when drawing objects.")
    mass: float = Field(0.2, gt=0, description="Mass in kg for the physics drop.")
    zones: list[RoadZone] = Field(
        ["lane"],
        min_length=1,
        description="placement.mode road: where instances may stand (one drawn per instance): "
        "lane (driving along it), parked (at the curb), bike (the lane's edge), sidewalk, "
        "crossing (across the road), roadside (the curb's edge of the sidewalk), flying (in "
        "the air over the street, turned at random: flying distractors).",
    )

    @model_validator(mode="after")
    def _one_source(self) -> MeshSource:
        if (self.mesh is None) == (self.primitive is None):
            raise ValueError("give exactly one of 'mesh' or 'primitive'")
        if self.primitive is not None and self.size is None:
            raise ValueError("a primitive needs 'size' (metres)")
        if self.primitive is not None and self.simplify is not None:
            raise ValueError("'simplify' applies to mesh files, not primitives")
        return self


class ObjectEntry(MeshSource):
    """One kind of labeled object and the category it is labeled as."""

    category: str = Field(min_length=1, description="Category name written to the COCO file.")


Balance = Literal["none", "uniform"] | dict[str, Annotated[float, Field(gt=0)]]
"""``none``: entries drawn by ``weight``; ``uniform``: every category equally often (entries of
a category by ``weight``); a mapping ``{category: frequency}`` sets target frequencies
(normalized; categories left out are never drawn)."""


class ObjectsConfig(_Model):
    count: ObjectCountRange = Field((3, 8), description="Number of labeled objects per scene.")
    mesh_root: str | None = Field(
        None,
        description="Folder that relative mesh paths are resolved against (itself relative "
        "to the scene file); default: the scene file's folder. Set it on the command line to "
        "point a scene at your models: --set objects.mesh_root=/data/models.",
    )
    balance: Balance = Field("none", description="Class balance of the drawn objects.")
    catalog: list[ObjectEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _balance_categories(self) -> ObjectsConfig:
        if isinstance(self.balance, dict):
            known = {entry.category for entry in self.catalog}
            unknown = sorted(set(self.balance) - known)
            if unknown:
                raise ValueError(f"balance names unknown categories: {', '.join(unknown)}")
        return self


def _default_distractors() -> list[MeshSource]:
    return [
        MeshSource(primitive=shape, size=0.06, scale=(0.5, 1.5))
        for shape in ("box", "sphere", "cylinder", "capsule", "cone")
    ]


class DistractorsConfig(_Model):
    """Unlabeled objects: they occlude labeled ones but get no annotation."""

    count: ObjectCountRange = Field((0, 0), description="Number of distractors per scene.")
    catalog: list[MeshSource] = Field(default_factory=_default_distractors, min_length=1)


class PaintColor(_Model):
    """One colour of a paint palette and how often it is drawn."""

    color: RGB = Field(description="sRGB paint colour.")
    weight: float = Field(1.0, gt=0, description="Relative frequency.")


def _palette(*colors: tuple[tuple[float, float, float], float]) -> list[PaintColor]:
    """Palette entries from ``(sRGB colour, weight)`` pairs."""
    return [PaintColor(color=rgb, weight=w) for rgb, w in colors]


def _fleet_palette() -> list[PaintColor]:
    """Neutral-heavy car paints (white, black, silver and grey first), as on city streets."""
    colors = [
        ((0.92, 0.92, 0.92), 0.22),  # white
        ((0.06, 0.06, 0.07), 0.20),  # black
        ((0.70, 0.71, 0.73), 0.16),  # silver
        ((0.42, 0.43, 0.45), 0.14),  # grey
        ((0.12, 0.18, 0.35), 0.08),  # dark blue
        ((0.62, 0.08, 0.08), 0.08),  # red
        ((0.55, 0.45, 0.33), 0.04),  # beige, brown
        ((0.15, 0.30, 0.20), 0.03),  # dark green
        ((0.45, 0.60, 0.75), 0.03),  # light blue
        ((0.85, 0.70, 0.15), 0.02),  # yellow
    ]
    return _palette(*colors)


class PaintConfig(_Model):
    """How catalog entries with ``color: paint`` are repainted: the mesh's own vertex colours
    keep their dark details (glass, tyres, trim) and the rest takes a palette colour, shaded
    by the original's relative brightness (:func:`simgen.render.colour.paint_vertex_colors`)."""

    palette: list[PaintColor] = Field(
        default_factory=_fleet_palette,
        min_length=1,
        description="Paint colours (sRGB) and weights; default: a car fleet's.",
    )
    colors: Literal["palette", "random"] = Field(
        "palette",
        description="'palette': paints from the palette above; 'random': each paint is the "
        "instance's random colour (any hue, materials.saturation and materials.value), so the "
        "dark details stay while the colours range as widely as 'random' entries'.",
    )
    keep_p: float = Field(
        0.2, ge=0, le=1, description="Probability that an instance keeps the mesh's own colours."
    )
    value_jitter: float = Field(
        0.1, ge=0, lt=1, description="Each paint's brightness is scaled by 1 ± this (uniform)."
    )
    keep_below: float = Field(
        0.3,
        gt=0,
        lt=1,
        description="Vertices darker than this fraction of the mesh's paint brightness (its "
        "90th-percentile luminance) keep their own colour; twice as bright and above take the "
        "paint fully, blended in between.",
    )


class PartPaint(_Model):
    """One part of a mesh (its vertices of one vertex colour) and the colours it is repainted
    with, for catalog entries with ``color: parts``."""

    match: RGB = Field(
        description="sRGB vertex colour of the part; vertices within 2 levels of 255 per channel "
        "(:data:`simgen.render.colour.PART_TOLERANCE`) belong to it."
    )
    palette: list[PaintColor] = Field(min_length=1, description="sRGB colours and weights.")
    keep_p: float = Field(
        0.0, ge=0, le=1, description="Probability that the part keeps its own colour."
    )
    value_jitter: float = Field(
        0.1, ge=0, lt=1, description="Each colour's brightness is scaled by 1 ± this (uniform)."
    )


def _outfits() -> list[PartPaint]:
    """Skin tones, clothes, shoes and bicycle frames for simgen's people and cyclists
    (``assets:driving/people``, ``assets:driving/cyclists``), whose meshes all wear one outfit:
    skin (152, 103, 64), a blue-grey top (56, 60, 82), black trousers (12, 12, 12), brown shoes
    (19, 11, 6) and a light grey bicycle (204, 204, 204), in 0-255 sRGB."""
    skin = _palette(
        ((0.95, 0.80, 0.69), 1.0),
        ((0.88, 0.67, 0.54), 1.0),
        ((0.78, 0.53, 0.39), 1.0),
        ((0.60, 0.40, 0.27), 1.0),
        ((0.44, 0.29, 0.19), 1.0),
        ((0.30, 0.20, 0.14), 0.7),
    )
    tops = _palette(
        ((0.05, 0.05, 0.06), 0.20),  # black
        ((0.90, 0.90, 0.88), 0.14),  # white
        ((0.45, 0.45, 0.46), 0.12),  # grey
        ((0.10, 0.14, 0.30), 0.12),  # navy
        ((0.30, 0.42, 0.62), 0.08),  # mid blue
        ((0.60, 0.10, 0.10), 0.07),  # red
        ((0.20, 0.32, 0.20), 0.06),  # green
        ((0.70, 0.62, 0.48), 0.07),  # beige
        ((0.38, 0.26, 0.18), 0.06),  # brown
        ((0.85, 0.72, 0.20), 0.03),  # yellow
        ((0.80, 0.45, 0.60), 0.03),  # pink
        ((0.92, 0.45, 0.10), 0.02),  # orange
    )
    trousers = _palette(
        ((0.05, 0.05, 0.06), 0.30),  # black
        ((0.17, 0.24, 0.38), 0.25),  # dark jeans
        ((0.38, 0.48, 0.62), 0.12),  # light jeans
        ((0.32, 0.32, 0.33), 0.13),  # grey
        ((0.68, 0.60, 0.46), 0.10),  # beige
        ((0.30, 0.22, 0.16), 0.10),  # brown
    )
    shoes = _palette(
        ((0.05, 0.05, 0.05), 0.5),
        ((0.88, 0.88, 0.86), 0.25),
        ((0.30, 0.20, 0.12), 0.15),
        ((0.45, 0.45, 0.46), 0.10),
    )
    bikes = _palette(
        ((0.06, 0.06, 0.07), 0.35),
        ((0.70, 0.71, 0.73), 0.20),
        ((0.90, 0.90, 0.90), 0.10),
        ((0.60, 0.08, 0.08), 0.12),
        ((0.12, 0.20, 0.45), 0.12),
        ((0.15, 0.35, 0.20), 0.06),
        ((0.85, 0.70, 0.15), 0.05),
    )
    level = 1.0 / 255.0
    return [
        PartPaint(match=(152 * level, 103 * level, 64 * level), palette=skin),
        PartPaint(match=(56 * level, 60 * level, 82 * level), palette=tops),
        PartPaint(match=(12 * level, 12 * level, 12 * level), palette=trousers),
        PartPaint(match=(19 * level, 11 * level, 6 * level), palette=shoes),
        PartPaint(match=(204 * level, 204 * level, 204 * level), palette=bikes),
    ]


class MaterialConfig(_Model):
    """Ranges for random base colours (HSV of an sRGB colour) and PBR parameters."""

    saturation: ZeroOneRange = (0.3, 1.0)
    value: ZeroOneRange = (0.3, 1.0)
    metallic: ZeroOneRange = (0.0, 0.3)
    roughness: ZeroOneRange = (0.3, 0.9)
    keep_original_p: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Probability that a mesh with its own texture or vertex colours keeps "
        "them (for catalog entries whose color is 'random').",
    )
    texture: TextureConfig | None = Field(
        None, description="Procedural or folder textures for objects with a random colour."
    )
    paint: PaintConfig = Field(
        default_factory=PaintConfig,
        description="How catalog entries whose color is 'paint' are repainted (metallic and "
        "roughness from the ranges above).",
    )
    parts: list[PartPaint] = Field(
        default_factory=_outfits,
        description="How catalog entries whose color is 'parts' are repainted, part by part "
        "(default: outfits, skin tones and bicycle colours for simgen's people and cyclists).",
    )


LightKind = Literal["directional", "point", "spot"]


class LightsConfig(_Model):
    """Lights placed on a dome above the table, aimed at its centre."""

    count: Count0To16Range = (1, 4)
    kinds: list[LightKind] = Field(["directional", "point", "spot"], min_length=1)
    intensity: PositiveRange = Field(
        (2.0, 5.0),
        description="Illuminance at the table centre summed over all lights (pyrender units); "
        "each of n lights gets a draw from this range divided by n. Point and spot lights are "
        "given the candela that yields their share at their distance.",
    )
    temperature_k: Kelvin1000To40000Range = Field(
        (3000.0, 8000.0),
        description="Colour temperature of each light in kelvin (its colour is linear RGB).",
    )
    saturation: ZeroOneRange = Field(
        (0.0, 0.1), description="Extra random tint on top of the temperature colour (HSV)."
    )
    distance: PositiveRange = Field((1.0, 2.0), description="Metres from the table centre.")
    elevation_deg: Degrees0To90Range = (30.0, 85.0)
    ambient: ZeroOneRange = Field((0.15, 0.35), description="Ambient light level per channel.")
    shadows: bool = Field(True, description="Directional and spot shadows.")


class GroundConfig(_Model):
    """A square slab whose top face is the plane z = 0."""

    size: float = Field(2.0, ge=0, le=400, description="Side length in metres; 0: no ground.")
    color: Literal["random"] | RGB = Field("random", description="sRGB colour of the slab.")
    texture: TextureConfig | None = Field(None, description="Texture of the ground's top.")
    tile: float = Field(0.5, gt=0, description="Metres covered by one texture repeat.")


class BackgroundConfig(_Model):
    """What is seen behind the scene: a colour, or a texture (procedural or a user's photos).

    ``composite``: the texture is pasted behind the rendered image (exact, unlit);
    ``dome``: it is drawn on a large unlit sphere around the scene, so it moves with the camera.
    Labels are unaffected either way.
    """

    color: Literal["random"] | RGB = Field(
        "random", description="sRGB colour behind the scene (written to the image as it is)."
    )
    texture: TextureConfig | None = None
    mode: Literal["composite", "dome"] = "composite"


class ContactShadowConfig(_Model):
    """Dark patches on the ground under every placed object of a road scene: the sky's light
    that the object blocks (ambient occlusion, which the renderer's ambient term lacks), so
    the gap under a car reads dark as it does in photographs, not as lit road."""

    value: ZeroOneRange = Field(
        (0.02, 0.1), description="sRGB grey level of a patch, drawn per object."
    )
    grow: PositiveRange = Field(
        (1.0, 1.15), description="A patch's size over the object's footprint, drawn per object."
    )
    thickness: float = Field(
        0.01, gt=0, le=0.05, description="Metres; the patch lies on the surface under the object."
    )


class RoadConfig(_Model):
    """``placement.mode: road``: a straight road along world +y with lanes, curbs, sidewalks
    and building blocks (structured placement, :mod:`simgen.randomize.road`). Lane lines come
    from the ground's ``road`` texture: set ``ground.tile`` to ``lane_width``."""

    lanes: AtLeastOneRange = Field((2, 4), description="Number of lanes.")
    oncoming_p: ZeroOneRange = Field(
        (0.5, 0.5), description="Fraction of the lanes (left ones) with oncoming traffic."
    )
    lane_width: float = Field(3.5, gt=0, description="Metres; equal to ground.tile.")
    length: float = Field(70.0, gt=0, description="Metres of road ahead that objects use.")
    behind: float = Field(4.0, ge=0, description="Objects start this many metres ahead.")
    lane_clearance: float = Field(
        4.0, ge=0, description="Objects in lanes start this many metres further ahead."
    )
    distance_power: float = Field(
        1.0,
        ge=0.25,
        le=4.0,
        description="Distances ahead are drawn as start + span * u ** p (u uniform): 1 spreads "
        "objects evenly along the road, above 1 puts more of them near the camera.",
    )
    sidewalk_width: PositiveRange = Field((2.0, 4.5), description="Metres, each side.")
    curb_height: NonNegativeRange = Field((0.1, 0.18), description="Sidewalk height, metres.")
    heading_jitter_deg: float = Field(
        6.0, ge=0, description="Degrees of random yaw off the lane direction."
    )
    buildings: Count0To64Range = Field(
        (6, 16), description="Building blocks per side (0: none; the backdrop shows)."
    )
    building_height: PositiveRange = Field((4.0, 22.0), description="Metres.")
    building_depth: PositiveRange = Field((6.0, 14.0), description="Metres.")
    building_length: PositiveRange = Field((6.0, 25.0), description="Metres along the road.")
    building_gap: NonNegativeRange = Field((0.0, 8.0), description="Metres between blocks.")
    setback: NonNegativeRange = Field(
        (0.0, 4.0), description="Metres between the sidewalk and the buildings."
    )
    sidewalk_color: RGB = Field((0.55, 0.54, 0.52), description="sRGB of the sidewalks.")
    building_texture: TextureConfig | None = Field(
        None, description="Texture of the building faces (e.g. kinds: [image], folder: ...)."
    )
    contact_shadow: ContactShadowConfig | None = Field(
        None, description="Dark patches under the placed objects (none by default)."
    )


class PlacementConfig(_Model):
    """How labeled objects and distractors are placed.

    * ``drop``: physics drop onto the ground from a non-overlapping column over ``area``;
    * ``bin``: physics drop into a tray of inner size ``area`` with walls of ``wall_height``;
    * ``upright``: standing on the ground (mesh +z up) with random yaw, no overlap;
    * ``volume``: uniform random rotation, centres in ``area`` × ``height``, no overlap
      (floating; no physics);
    * ``road``: structured: a road with lanes, curbs, sidewalks and buildings (``road``); each
      instance stands in one of its catalog entry's ``zones``, heading along the road where
      traffic would (no physics).
    """

    mode: Literal["drop", "bin", "upright", "volume", "road"] = "drop"
    road: RoadConfig = RoadConfig()
    area: tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]] = Field(
        (0.4, 0.4), description="Width and depth in metres of the placement area."
    )
    height: FloatRange = Field(
        (0.05, 0.4), description="volume mode: range of object-centre heights (m)."
    )
    gap: float = Field(0.02, ge=0, description="Clearance in metres between placed objects.")
    max_tries: int = Field(200, ge=1, description="Rejection-sampling attempts per object.")
    upright_p: float = Field(
        0.0,
        ge=0,
        le=1,
        description="drop and bin: chance that a labeled object starts standing on the ground "
        "in its mesh's +z-up orientation with a random yaw (as objects stand in tabletop photos) "
        "instead of falling from a random rotation; physics then settles it with the rest.",
    )
    clutter_upright_p: float = Field(
        0.0,
        ge=0,
        le=1,
        description="drop and bin: chance that an unlabeled object (a distractor) starts "
        "standing too, where a footprint is left after the labeled ones (those that find none "
        "fall onto the others). When above 0, footprints go largest first, labeled before "
        "unlabeled, so the clutter does not take the targets' room.",
    )
    hold_upright: bool = Field(
        False,
        description="drop and bin: labeled objects that start standing stay where they stand "
        "while the rest settles (held fixed: clutter lands around and on them but cannot knock "
        "them over), and their footprints go largest first, so that big ones find room. In "
        "tabletop photos every object stands; dropped clutter topples tall targets. Needs "
        "upright_p > 0.",
    )
    wall_height: float = Field(0.12, gt=0, description="bin mode: wall height in metres.")
    wall_thickness: float = Field(0.015, gt=0, description="bin mode: wall thickness.")

    @model_validator(mode="after")
    def _upright_needs_drop(self) -> PlacementConfig:
        for name in ("upright_p", "clutter_upright_p", "hold_upright"):
            if getattr(self, name) and not self.uses_physics:
                raise ValueError(f"{name} applies to the drop and bin modes, not {self.mode!r}")
        if self.hold_upright and not self.upright_p:
            raise ValueError(
                "hold_upright holds the objects that start standing: set upright_p > 0"
            )
        return self

    @property
    def uses_physics(self) -> bool:
        return self.mode in ("drop", "bin")


class PhysicsConfig(_Model):
    """pybullet settle for the ``drop`` and ``bin`` placements."""

    timestep: float = Field(1 / 240, gt=0, le=0.05)
    max_steps: int = Field(2400, ge=1)
    lateral_friction: float = Field(0.8, ge=0)
    rolling_friction: float = Field(
        1e-2,
        ge=0,
        description="Rolling resistance (a ball on a cloth or wooden table: about 0.01); lower "
        "values let round objects roll for seconds before they rest.",
    )
    spinning_friction: float = Field(1e-3, ge=0)
    linear_threshold: float = Field(
        2e-3,
        gt=0,
        description="m/s below which a body is at rest (at two checks in a row, 10 steps apart).",
    )
    angular_threshold: float = Field(
        5e-2,
        gt=0,
        description="rad/s below which a body is at rest. Objects resting on others jitter at "
        "0.01-0.05 rad/s; with 0.01 such scenes ran to max_steps.",
    )


class OutputConfig(_Model):
    depth: bool = Field(False, description="Also write depth/NNNNNN.png (uint16 millimetres).")
    visib_threshold: float = Field(
        0.1, ge=0, le=1, description="Instances less visible than this are flagged ignore."
    )
    png_compression: int = Field(
        1,
        ge=0,
        le=9,
        description="libdeflate level of the PNGs: 0 stores, 1 is fastest, 9 smallest.",
    )


class SceneConfig(_Model):
    """A whole scene file. ``seed`` and ``num_images`` are also set by ``--seed`` / ``--num``."""

    schema_version: int = Field(
        SCHEMA_VERSION,
        description="Version of the config format (simgen.dataset.versions); older versions "
        "are converted when read, so it is always the current one here.",
    )
    name: str = "scene"
    seed: int = Field(0, ge=0, description="Root seed; image N depends only on (config, seed, N).")
    num_images: int = Field(20, ge=1)
    views_per_scene: int = Field(4, ge=1, description="Camera views rendered per settled scene.")
    image: ImageConfig = ImageConfig()
    camera: CameraConfig = CameraConfig()
    objects: ObjectsConfig
    distractors: DistractorsConfig = DistractorsConfig()
    placement: PlacementConfig = PlacementConfig()
    materials: MaterialConfig = MaterialConfig()
    lights: LightsConfig = LightsConfig()
    ground: GroundConfig = GroundConfig()
    background: BackgroundConfig = BackgroundConfig()
    physics: PhysicsConfig = PhysicsConfig()
    output: OutputConfig = OutputConfig()
    effects: list[EffectConfig] = Field(
        default_factory=list,
        description="Pixel-level post-render effects (simgen.effects), applied in order.",
    )

    @field_validator("schema_version")
    @classmethod
    def _current_version(cls, value: int) -> int:
        return check_current_version(value)

    @model_validator(mode="after")
    def _road_camera(self) -> SceneConfig:
        if self.camera.mode == "road" and self.placement.mode != "road":
            raise ValueError("camera.mode 'road' needs placement.mode 'road' (a street to drive)")
        return self

    @model_validator(mode="after")
    def _ground_for_physics(self) -> SceneConfig:
        if self.placement.uses_physics and self.ground.size <= 0:
            raise ValueError(f"placement mode '{self.placement.mode}' needs a ground (size > 0)")
        return self

    def categories(self) -> list[str]:
        """Category names in first-appearance order; COCO category id = position + 1."""
        names: list[str] = []
        for entry in self.objects.catalog:
            if entry.category not in names:
                names.append(entry.category)
        return names


DEFAULT_SCENE = "tabletop"


def default_scene_path() -> Path:
    """Path of the built-in default scene shipped inside the package."""
    return Path(str(resources.files("simgen") / "scenes" / f"{DEFAULT_SCENE}.yaml"))


def _format_loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _validation_message(error: ValidationError) -> tuple[str, str]:
    first = error.errors()[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    kind = first["type"]
    if kind == "extra_forbidden":
        msg = "unknown key"
    elif kind == "missing":
        msg = "required field is missing"
    else:
        msg = first["msg"].removeprefix("Value error, ")
        if "input" in first and kind not in ("value_error",):
            msg += f" (got {first['input']!r})"
    more = len(error.errors()) - 1
    if more:
        msg += f" (and {more} more problem{'s' if more > 1 else ''})"
    return _format_loc(loc), msg


def _parse_override(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise SimgenError("expected key=value", file="--set", field=item)
    key, raw = item.split("=", 1)
    path = key.strip().split(".")
    if not all(path):
        raise SimgenError("empty key", file="--set", field=item)
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise SimgenError(f"cannot parse value {raw!r}: {exc}", file="--set", field=key) from None
    return path, value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with ``a.b.c=value`` overrides applied (values parsed as YAML).

    List items are addressed by index (``objects.catalog.0.size=0.1``).
    """
    data = copy.deepcopy(data)
    for item in overrides:
        path, value = _parse_override(item)
        node: Any = data
        for i, part in enumerate(path[:-1]):
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise SimgenError(
                        "no such list item", file="--set", field=".".join(path[: i + 1])
                    )
                node = node[int(part)]
            elif isinstance(node, dict):
                node = node.setdefault(part, {})
            else:
                raise SimgenError("not a mapping", file="--set", field=".".join(path[:i]))
        last = path[-1]
        if isinstance(node, list):
            if not last.isdigit() or int(last) >= len(node):
                raise SimgenError("no such list item", file="--set", field=".".join(path))
            node[int(last)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise SimgenError("not a mapping", file="--set", field=".".join(path[:-1]))
    return data


TEXTURE_FIELDS = (
    ("materials", "texture"),
    ("ground", "texture"),
    ("background", "texture"),
    ("placement", "road", "building_texture"),
)
"""Where a scene file may configure a texture (a folder there is resolved and checked)."""


def _resolve_texture_folders(data: dict[str, Any], source: Path) -> None:
    """Make texture folders absolute: ``assets:NAME`` through the asset library, relative
    paths against the scene file's folder."""
    from simgen.library import PREFIX, resolve_asset

    base_dir = source.resolve().parent
    for path in TEXTURE_FIELDS:
        parent: Any = data
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        texture = parent.get(path[-1]) if isinstance(parent, dict) else None
        if isinstance(texture, dict) and isinstance(texture.get("folder"), str):
            folder = texture["folder"]
            if folder.startswith(PREFIX):
                field = f"{'.'.join(path)}.folder"
                texture["folder"] = str(resolve_asset(folder, source=source, field=field))
            elif not Path(folder).is_absolute():
                texture["folder"] = str((base_dir / folder).resolve())


def texture_sections(config: SceneConfig) -> list[tuple[str, TextureConfig]]:
    """``(field path, texture config)`` of every configured texture."""
    sections = []
    for path in TEXTURE_FIELDS:
        node: Any = config
        for key in path:
            node = getattr(node, key)
        if node is not None:
            sections.append((".".join(path), node))
    return sections


def _resolve_catalog(catalog: Any, root_dir: Path) -> None:
    if not isinstance(catalog, list):
        return
    for entry in catalog:
        if isinstance(entry, dict) and isinstance(entry.get("mesh"), str):
            mesh = entry["mesh"]
            named = mesh.startswith((PYBULLET_DATA_PREFIX, ASSETS_PREFIX))
            if not named and not Path(mesh).is_absolute():
                entry["mesh"] = str((root_dir / mesh).resolve())


def _resolve_mesh_paths(data: dict[str, Any], base_dir: Path) -> None:
    """Make relative mesh paths absolute: objects' against ``mesh_root`` (default: the scene
    file's folder), distractors' against the scene file's folder."""
    objects = data.get("objects")
    if isinstance(objects, dict):
        root_dir = base_dir
        if isinstance(objects.get("mesh_root"), str):
            root_dir = (base_dir / objects["mesh_root"]).resolve()
            objects["mesh_root"] = str(root_dir)
        _resolve_catalog(objects.get("catalog"), root_dir)
    distractors = data.get("distractors")
    if isinstance(distractors, dict):
        _resolve_catalog(distractors.get("catalog"), base_dir)


def read_yaml(path: Path, *, allow_empty: bool = False) -> dict[str, Any]:
    """Read a YAML mapping safely; a non-mapping file (or an empty one, unless
    ``allow_empty``: then ``{}``) raises a one-line error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SimgenError("file not found", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SimgenError(f"cannot read: {exc}", file=path) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise SimgenError(f"invalid YAML: {problem}", file=path, field=where) from None
    if data is None:
        if allow_empty:
            return {}
        raise SimgenError("empty file (expected a mapping of scene settings)", file=path)
    if not isinstance(data, dict):
        raise SimgenError(f"expected a mapping at top level, got {type(data).__name__}", file=path)
    return data


def validate_config(data: dict[str, Any], *, source: str | Path) -> SceneConfig:
    """Validate a raw mapping into a :class:`SceneConfig`, raising a one-line error.

    ``data`` of an older ``schema_version`` (none: 0) is converted first
    (:func:`~simgen.dataset.versions.upgrade_config`); a newer one is an error.
    """
    if isinstance(data, dict):
        data = upgrade_config(data, source=source)
    try:
        return SceneConfig.model_validate(data)
    except ValidationError as exc:
        field, msg = _validation_message(exc)
        raise SimgenError(msg, file=source, field=field) from None


def blame_override(exc: SimgenError, overrides: list[str]) -> SimgenError:
    """``exc`` re-addressed to ``--set`` when its field (or a parent of it) was overridden."""
    keys = [item.split("=", 1)[0].strip() for item in overrides]
    if exc.field and any(exc.field == k or exc.field.startswith(k + ".") for k in keys):
        return SimgenError(exc.message, file="--set", field=exc.field)
    return exc


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> SceneConfig:
    """Load, override and validate a scene file.

    Args:
        path: a scene YAML; ``None`` selects the built-in default tabletop scene.
        overrides: ``key=value`` strings (dotted keys, YAML values) applied before validation.

    Returns:
        The frozen, validated config. Relative mesh paths are made absolute.

    Raises:
        SimgenError: naming the file and the field at fault.
    """
    source = default_scene_path() if path is None else Path(path)
    data = read_yaml(source)
    overrides = overrides or []
    data = apply_overrides(data, overrides)
    _resolve_mesh_paths(data, source.resolve().parent)
    _resolve_texture_folders(data, source)
    try:
        return validate_config(data, source=source)
    except SimgenError as exc:
        raise blame_override(exc, overrides) from None


def config_to_yaml(config: SceneConfig) -> str:
    """Serialize a config to YAML (stable key order, no timestamps)."""
    data = config.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)
