"""Structured road placement (``placement.mode: road``): things where they occur on a street.

Structured domain randomization (Prakash et al. 2019) draws a street first and puts each object
where its kind occurs. The world frame: the road runs along +y; lane boundaries lie at
``x = k * lane_width`` (where the ground's ``road`` texture, tiled every ``lane_width``, paints
its lines); the left ``oncoming`` lanes carry traffic towards -y, the others along +y. Beyond
each road edge a sidewalk (a box ``curb_height`` tall) and a row of building blocks.

Zones (a catalog entry's ``zones``; one is drawn per instance):

* ``lane``: in a lane, heading with its traffic (+- ``heading_jitter_deg``);
* ``parked``: along a curb, facing with the nearer lane's traffic;
* ``bike``: near the outer edge of the outermost lanes, with the traffic;
* ``sidewalk``: anywhere on a sidewalk, facing a random way (half of them along the road);
* ``crossing``: on the road across one crossing band, heading across it;
* ``roadside``: on the sidewalk at the curb's edge, facing the road (signs, lights, hydrants).
* ``flying``: in the air anywhere across the street, turned at random (not upright): the
  flying distractors of domain randomization (Tremblay et al. 2018), shapes that occlude and
  that the detector must learn to pass over; its box's lowest corner at least
  ``FLYING_CLEARANCE`` above the ground, its centre at most ``FLYING_TOP`` m up.

Footprints are the objects' boxes turned by their yaw; no two overlap (with ``gap``); a flying
object's footprint is the square around its bounding sphere, so it floats clear of the others.
Objects start ``behind`` metres ahead of the camera's y = 0 and stay within ``length``;
``distance_power`` shapes how they spread over it (1: evenly; above 1: more of them near the
camera).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simgen.config import ContactShadowConfig, RoadCameraConfig, RoadConfig
from simgen.geometry import pose_matrix
from simgen.randomize.pose import uniform_rotation, yaw_rotation
from simgen.scene import Prop


@dataclass(frozen=True)
class RoadLayout:
    """One drawn street.

    Attributes:
        lanes: number of lanes.
        oncoming: how many of them (the left ones) carry traffic towards -y.
        lane_width: metres.
        left: x of the road's left edge (a multiple of ``lane_width``).
        sidewalk: (left, right) sidewalk widths, metres.
        curb: sidewalk height, metres.
        crossing_y: y of the crossing band's centre.
        length, behind: the y range objects use is ``[behind, behind + length]``.
    """

    lanes: int
    oncoming: int
    lane_width: float
    left: float
    sidewalk: tuple[float, float]
    curb: float
    crossing_y: float
    length: float
    behind: float

    @property
    def right(self) -> float:
        """x of the road's right edge."""
        return self.left + self.lanes * self.lane_width

    def lane_centre(self, lane: int) -> float:
        """x of lane ``lane``'s centre (0 = leftmost)."""
        return self.left + (lane + 0.5) * self.lane_width

    def heading(self, lane: int) -> float:
        """Yaw (radians about +z, 0 = +x) of traffic in lane ``lane``."""
        return -math.pi / 2 if lane < self.oncoming else math.pi / 2


def sample_layout(config: RoadConfig, rng: np.random.Generator) -> RoadLayout:
    """Draw a street: lane count and directions, sidewalks, curb, crossing."""
    lanes = int(rng.integers(config.lanes[0], config.lanes[1] + 1))
    oncoming = round(lanes * float(rng.uniform(*config.oncoming_p)))
    left = -math.floor(lanes / 2) * config.lane_width
    sidewalk = (
        float(rng.uniform(*config.sidewalk_width)),
        float(rng.uniform(*config.sidewalk_width)),
    )
    return RoadLayout(
        lanes=lanes,
        oncoming=min(oncoming, lanes - 1) if lanes > 1 else 0,
        lane_width=config.lane_width,
        left=left,
        sidewalk=sidewalk,
        curb=float(rng.uniform(*config.curb_height)),
        crossing_y=float(rng.uniform(config.behind + 6.0, config.behind + 0.5 * config.length)),
        length=config.length,
        behind=config.behind,
    )


def _footprint(centre: np.ndarray, extents: np.ndarray, yaw: float, gap: float) -> np.ndarray:
    """Axis-aligned (x0, y0, x1, y1) of a yawed rectangle, grown by ``gap`` / 2."""
    c, s = abs(math.cos(yaw)), abs(math.sin(yaw))
    half_x = 0.5 * (extents[0] * c + extents[1] * s) + gap / 2
    half_y = 0.5 * (extents[0] * s + extents[1] * c) + gap / 2
    return np.array(
        [centre[0] - half_x, centre[1] - half_y, centre[0] + half_x, centre[1] + half_y]
    )


def _overlaps(box: np.ndarray, placed: list[np.ndarray]) -> bool:
    return any(
        box[0] < other[2] and other[0] < box[2] and box[1] < other[3] and other[1] < box[3]
        for other in placed
    )


FLYING_CLEARANCE = 0.3
"""A flying object's lowest point is at least this high above the ground (metres)."""

FLYING_TOP = 4.5
"""A flying object's centre is at most this high above the ground (metres), when it fits."""

FLYING_MARGIN = 3.0
"""Flying objects spread this far beyond each road edge, over the sidewalks (metres)."""


def _ahead(start: float, span: float, power: float, rng: np.random.Generator) -> float:
    """A distance along the road in ``[start, start + span]``: ``start + span * u ** power``.

    ``power`` 1 is uniform; above 1 the draws crowd towards ``start`` (the camera).
    """
    return start + span * float(rng.uniform()) ** power


def _zone_spot(
    zone: str, layout: RoadLayout, config: RoadConfig, rng: np.random.Generator
) -> tuple[float, float, float, float]:
    """``(x, y, ground z, yaw)`` for one instance in ``zone``."""
    jitter = math.radians(config.heading_jitter_deg)
    y = _ahead(layout.behind, layout.length, config.distance_power, rng)
    if zone == "lane":
        start = layout.behind + config.lane_clearance
        y = _ahead(start, layout.behind + layout.length - start, config.distance_power, rng)
        lane = int(rng.integers(0, layout.lanes))
        x = layout.lane_centre(lane) + float(rng.normal(0.0, 0.15 * layout.lane_width))
        return x, y, 0.0, layout.heading(lane) + float(rng.uniform(-jitter, jitter))
    if zone in ("parked", "bike"):
        right = bool(rng.integers(0, 2)) or layout.oncoming == 0
        lane = layout.lanes - 1 if right else 0
        inset = float(rng.uniform(1.0, 1.3)) if zone == "parked" else float(rng.uniform(0.5, 1.0))
        x = layout.right - inset if right else layout.left + inset
        small = jitter / 3 if zone == "parked" else jitter
        return x, y, 0.0, layout.heading(lane) + float(rng.uniform(-small, small))
    if zone == "crossing":
        x = float(rng.uniform(layout.left, layout.right))
        y = layout.crossing_y + float(rng.uniform(-1.5, 1.5))
        yaw = (0.0 if rng.integers(0, 2) else math.pi) + float(rng.uniform(-jitter, jitter))
        return x, y, 0.0, yaw
    right = bool(rng.integers(0, 2))
    width = layout.sidewalk[1] if right else layout.sidewalk[0]
    if zone == "roadside":
        depth = float(rng.uniform(0.3, 0.7))
        yaw = math.pi if right else 0.0  # facing the road
    else:  # sidewalk
        depth = float(rng.uniform(0.4, max(width - 0.4, 0.5)))
        along = rng.uniform() < 0.5
        yaw = (
            float(rng.choice([math.pi / 2, -math.pi / 2])) if along else rng.uniform(0, 2 * math.pi)
        )
        yaw = float(yaw) + float(rng.uniform(-jitter, jitter))
    x = layout.right + depth if right else layout.left - depth
    return x, y, layout.curb, yaw


def _flying_spot(
    extents: np.ndarray, layout: RoadLayout, config: RoadConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``(centre (3,) float64, rotation (3, 3) float64)`` of one flying object of box sizes
    ``extents`` (3,): uniform over the street's width (plus :data:`FLYING_MARGIN` each side),
    ahead as the other zones, its centre between its bounding radius plus
    :data:`FLYING_CLEARANCE` and :data:`FLYING_TOP`, turned uniformly at random."""
    radius = 0.5 * float(np.linalg.norm(extents))
    x = float(rng.uniform(layout.left - FLYING_MARGIN, layout.right + FLYING_MARGIN))
    y = _ahead(layout.behind, layout.length, config.distance_power, rng)
    low = radius + FLYING_CLEARANCE
    z = float(rng.uniform(low, max(low, FLYING_TOP)))
    return np.array([x, y, z]), uniform_rotation(rng)


def road_poses(
    extents: np.ndarray,
    zones: list[list[str]],
    layout: RoadLayout,
    config: RoadConfig,
    gap: float,
    max_tries: int,
    rng: np.random.Generator,
) -> list[np.ndarray | None]:
    """Upright poses (mesh +z up, heading +x turned by the yaw) in each object's zones.

    Args:
        extents: (N, 3) float64 scaled bounding-box sizes (meshes centred on their box).
        zones: per object, the zones it may stand in.
        max_tries: attempts per object before it is left out (``None``).
    """
    placed: list[np.ndarray] = []
    poses: list[np.ndarray | None] = []
    for ext, allowed in zip(np.asarray(extents, dtype=np.float64), zones, strict=True):
        pose = None
        for _ in range(max_tries):
            zone = allowed[int(rng.integers(0, len(allowed)))]
            if zone == "flying":
                centre, rotation = _flying_spot(ext, layout, config, rng)
                side = float(np.linalg.norm(ext))  # any turn of the box fits in this square
                box = _footprint(centre[:2], np.full(3, side), 0.0, gap)
            else:
                x, y, z, yaw = _zone_spot(zone, layout, config, rng)
                centre, rotation = np.array([x, y, z + ext[2] / 2.0]), yaw_rotation(yaw)
                box = _footprint(np.array([x, y]), ext, yaw, gap)
            if not _overlaps(box, placed):
                placed.append(box)
                pose = pose_matrix(rotation, centre)
                break
        poses.append(pose)
    return poses


def road_props(
    layout: RoadLayout,
    config: RoadConfig,
    building_texture: dict | None,
    rng: np.random.Generator,
    colour: Callable[[np.random.Generator], tuple[float, float, float]],
) -> tuple[Prop, ...]:
    """Sidewalks and building blocks along both sides.

    Args:
        building_texture: drawn texture parameters for the building faces (or ``None``).
        colour: ``colour(rng) -> (r, g, b)`` draws a building's flat colour.
    """
    start, end = -20.0, layout.behind + layout.length + 40.0
    span = end - start
    props = []
    sidewalk_rgba = (*config.sidewalk_color, 1.0)
    for side, width in ((-1.0, layout.sidewalk[0]), (1.0, layout.sidewalk[1])):
        edge = layout.left if side < 0 else layout.right
        centre = np.array([edge + side * width / 2, start + span / 2, layout.curb / 2])
        props.append(
            Prop(
                extents=(width, span, max(layout.curb, 1e-3)),
                pose=pose_matrix(np.eye(3), centre),
                color=sidewalk_rgba,
            )
        )
        count = int(rng.integers(config.buildings[0], config.buildings[1] + 1))
        y = start + float(rng.uniform(0.0, 5.0))
        for _ in range(count):
            length = float(rng.uniform(*config.building_length))
            depth = float(rng.uniform(*config.building_depth))
            height = float(rng.uniform(*config.building_height))
            setback = float(rng.uniform(*config.setback))
            x = edge + side * (width + setback + depth / 2)
            props.append(
                Prop(
                    extents=(depth, length, height),
                    pose=pose_matrix(np.eye(3), np.array([x, y + length / 2, height / 2])),
                    color=(*colour(rng), 1.0),
                    texture=building_texture,
                    tile=float(rng.uniform(3.0, 8.0)),
                )
            )
            y += length + float(rng.uniform(*config.building_gap))
            if y > end:
                break
    return tuple(props)


def contact_shadows(
    extents: np.ndarray,
    poses: list[np.ndarray],
    config: ContactShadowConfig,
    rng: np.random.Generator,
) -> tuple[Prop, ...]:
    """One dark, flat box under each placed object (:class:`ContactShadowConfig`).

    Args:
        extents: (N, 3) float, the objects' scaled box sizes in their own frames (metres).
        poses: N (4, 4) world-from-object transforms of upright objects (box centred at the
            origin, as :func:`road_poses` places them).
        config: the patches' grey level, growth and thickness ranges.
        rng: draws two values per object, in order: the grey level, then the growth.

    Returns:
        N props: each the object's footprint times its growth, ``thickness`` tall, its bottom
        on the surface the object stands on, turned with the object.
    """
    props = []
    for ext, pose in zip(np.asarray(extents, dtype=np.float64), poses, strict=True):
        grey = float(rng.uniform(*config.value))
        grow = float(rng.uniform(*config.grow))
        bottom = float(pose[2, 3]) - ext[2] / 2.0
        centre = np.array([pose[0, 3], pose[1, 3], bottom + config.thickness / 2.0])
        props.append(
            Prop(
                extents=(float(ext[0] * grow), float(ext[1] * grow), config.thickness),
                pose=pose_matrix(np.asarray(pose)[:3, :3], centre),
                color=(grey, grey, grey, 1.0),
            )
        )
    return tuple(props)


def road_view_pose(camera: RoadCameraConfig, layout: RoadLayout, rng: np.random.Generator):
    """(4, 4) world-from-camera (OpenCV axes) in one of the +y lanes, looking down the road."""
    from simgen.geometry import look_at

    own = [lane for lane in range(layout.lanes) if lane >= layout.oncoming] or [0]
    lane = own[int(rng.integers(0, len(own)))]
    offset = float(rng.uniform(*camera.lateral)) * (1 if rng.integers(0, 2) else -1)
    eye = np.array([layout.lane_centre(lane) + offset, 0.0, float(rng.uniform(*camera.height))])
    yaw = math.radians(float(rng.uniform(*camera.yaw_deg)))
    pitch = math.radians(float(rng.uniform(*camera.pitch_deg)))
    direction = np.array(
        [math.sin(yaw) * math.cos(pitch), math.cos(yaw) * math.cos(pitch), math.sin(pitch)]
    )
    return look_at(eye, eye + direction)
