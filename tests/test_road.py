"""Structured road placement and the road camera (``scenes/kitti.yaml``): things stand where
they occur, footprints never overlap, the camera sits level in a lane."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from simgen.assets import load_catalog
from simgen.config import RoadConfig, load_config
from simgen.errors import SimgenError
from simgen.randomize import sample_scene
from simgen.randomize.road import _footprint, _zone_spot, road_poses, sample_layout

KITTI = Path(__file__).resolve().parents[1] / "scenes" / "kitti.yaml"


@pytest.fixture(scope="module")
def kitti():
    config = load_config(KITTI)
    return config, load_catalog(config)


def _zone_of(x: float, z_bottom: float, layout) -> str:
    """Where a ground point lies: on the road or on a sidewalk (raised by the curb)."""
    if layout.left - 1e-9 <= x <= layout.right + 1e-9:
        assert z_bottom == pytest.approx(0.0, abs=1e-9)
        return "road"
    assert z_bottom == pytest.approx(layout.curb, abs=1e-9)
    return "sidewalk"


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    "zone, where",
    [
        ("lane", "road"),
        ("parked", "road"),
        ("bike", "road"),
        ("crossing", "road"),
        ("sidewalk", "sidewalk"),
        ("roadside", "sidewalk"),
    ],
)
def test_objects_stand_in_their_zone(seed: int, zone: str, where: str) -> None:
    config = RoadConfig()
    rng = np.random.default_rng(seed)
    layout = sample_layout(config, rng)
    person = zone in ("sidewalk", "roadside", "crossing")
    extents = np.tile([[0.5, 0.5, 1.7]] if person else [[4.5, 1.8, 1.5]], (12, 1))
    poses = road_poses(extents, [[zone]] * 12, layout, config, 0.3, 100, rng)
    placed = [p for p in poses if p is not None]
    assert len(placed) >= 6
    boxes = []
    for pose, ext in zip(poses, extents, strict=True):
        if pose is None:
            continue
        np.testing.assert_allclose(pose[:3, 2], [0, 0, 1], atol=1e-12)  # upright
        bottom = pose[2, 3] - ext[2] / 2
        assert _zone_of(pose[0, 3], bottom, layout) == where
        y = pose[1, 3]
        assert layout.behind <= y <= layout.behind + layout.length or zone == "crossing"
        heading = math.atan2(pose[1, 0], pose[0, 0])
        if zone in ("lane", "parked", "bike"):
            assert abs(abs(heading) - math.pi / 2) <= math.radians(config.heading_jitter_deg) + 1e-9
        if zone == "crossing":
            assert abs(y - layout.crossing_y) <= 1.5
        boxes.append(_footprint(pose[:2, 3], ext, heading, 0.3))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flying_objects_float_turned_over_the_street_clear_of_the_rest(seed: int) -> None:
    from simgen.randomize.road import FLYING_CLEARANCE, FLYING_MARGIN, FLYING_TOP

    config = RoadConfig()
    rng = np.random.default_rng(seed)
    layout = sample_layout(config, rng)
    extents = np.array([[4.5, 1.8, 1.5]] * 6 + [[1.0, 0.6, 0.3]] * 20)
    zones = [["parked", "lane"]] * 6 + [["flying"]] * 20
    poses = road_poses(extents, zones, layout, config, 0.3, 100, rng)
    assert all(p is not None for p in poses)
    cars = [_footprint(p[:2, 3], e, math.atan2(p[1, 0], p[0, 0]), 0.3)
            for p, e in zip(poses[:6], extents[:6], strict=True)]  # fmt: skip
    tilted = 0
    for pose, ext in zip(poses[6:], extents[6:], strict=True):
        rotation = pose[:3, :3]
        np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-9)
        assert np.linalg.det(rotation) == pytest.approx(1.0)
        corners = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
        world = (corners * ext / 2) @ rotation.T + pose[:3, 3]
        assert world[:, 2].min() >= FLYING_CLEARANCE - 1e-9
        assert pose[2, 3] <= FLYING_TOP + 1e-9
        assert layout.left - FLYING_MARGIN <= pose[0, 3] <= layout.right + FLYING_MARGIN
        assert layout.behind <= pose[1, 3] <= layout.behind + layout.length
        tilted += abs(rotation[2, 2]) < 0.99
        reach = np.linalg.norm(ext) / 2  # no car's footprint within the object's reach
        for car in cars:
            assert (pose[0, 3] + reach <= car[0] or car[2] <= pose[0, 3] - reach
                    or pose[1, 3] + reach <= car[1] or car[3] <= pose[1, 3] - reach)  # fmt: skip
    assert tilted >= 15  # turned at random, not upright


def test_lane_traffic_heads_with_its_lane() -> None:
    config = RoadConfig(lanes=(4, 4), oncoming_p=(0.5, 0.5), heading_jitter_deg=0.0)
    rng = np.random.default_rng(3)
    layout = sample_layout(config, rng)
    assert layout.oncoming == 2
    poses = road_poses(np.tile([[4.5, 1.8, 1.5]], (20, 1)), [["lane"]] * 20, layout, config,
                       0.3, 100, rng)  # fmt: skip
    for pose in (p for p in poses if p is not None):
        lane = int((pose[0, 3] - layout.left) // layout.lane_width)
        lane = min(max(lane, 0), layout.lanes - 1)
        assert pose[1, 0] == pytest.approx(-1.0 if lane < layout.oncoming else 1.0, abs=1e-9)


@pytest.mark.parametrize("power", [1.0, 1.5, 3.0])
@pytest.mark.parametrize("zone", ["lane", "parked", "sidewalk"])
def test_distance_power_crowds_objects_near_the_camera(zone: str, power: float) -> None:
    config = RoadConfig(distance_power=power)
    rng = np.random.default_rng(11)
    layout = sample_layout(config, rng)
    start = layout.behind + (config.lane_clearance if zone == "lane" else 0.0)
    end = layout.behind + layout.length
    ys = np.array([_zone_spot(zone, layout, config, rng)[1] for _ in range(400)])
    u = (ys - start) / (end - start)
    assert np.all((u >= 0) & (u <= 1))
    # start + span * u ** p: the fraction within the nearest tenth is 0.1 ** (1 / p)
    expected = 0.1 ** (1 / power)
    assert abs(np.mean(u <= 0.1) - expected) <= 3 * math.sqrt(expected * (1 - expected) / 400)


def test_distance_power_one_keeps_the_uniform_draws() -> None:
    """The default power draws exactly what ``rng.uniform(start, end)`` drew before it."""
    config = RoadConfig()
    layout = sample_layout(config, np.random.default_rng(0))
    y = _zone_spot("parked", layout, config, np.random.default_rng(4))[1]
    assert y == np.random.default_rng(4).uniform(layout.behind, layout.behind + layout.length)


@pytest.mark.parametrize("seed", [0, 5])
def test_kitti_scene_camera_and_labels(kitti, seed: int) -> None:
    config, assets = kitti
    config = config.model_copy(update={"seed": seed})
    sample = sample_scene(config, assets, 3)
    view = sample.views[0]
    assert (view.width, view.height) == (1242, 375)
    forward, down = view.pose[:3, 2], view.pose[:3, 1]
    assert 1.55 <= view.pose[2, 3] <= 1.75  # KITTI's camera height
    assert abs(math.degrees(math.asin(forward[2]))) <= 1.5 + 1e-9  # pitch
    assert forward[1] > 0.99  # down the road
    assert down[2] < -0.99  # level: image down is world down
    labeled = [o for o in sample.objects if o.labeled]
    assert {o.category for o in labeled} <= {"Car", "Pedestrian", "Cyclist"}
    assert all(o.mesh and o.mesh.startswith("assets:driving/") for o in sample.objects)


def test_road_camera_needs_road_placement() -> None:
    with pytest.raises(SimgenError, match=r"camera\.mode 'road' needs placement\.mode 'road'"):
        load_config(KITTI, ["placement.mode=upright"])


def test_unknown_zone_is_refused() -> None:
    with pytest.raises(SimgenError, match="zones"):
        load_config(KITTI, ["objects.catalog.0.zones=[highway]"])


def test_unknown_asset_mesh_is_one_line(tmp_path: Path, capsys) -> None:
    from simgen.cli import main

    out = tmp_path / "out"
    args = ["render", str(KITTI), "--out", str(out), "--num", "1",
            "--set", "objects.catalog.0.mesh=assets:driving/cars/no_such_car.ply"]  # fmt: skip
    assert main(args) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1 and "objects.catalog.0.mesh" in errors[0]
    assert "unknown asset file 'driving/cars/no_such_car.ply'" in errors[0]
    assert not out.exists()


@pytest.mark.parametrize("seed", [0, 5, 9])
def test_contact_shadows_lie_under_every_object_and_change_nothing_else(kitti, seed: int) -> None:
    config, assets = kitti
    plain = config.model_copy(update={"seed": seed})
    shaded = load_config(KITTI, [f"seed={seed}", "placement.road.contact_shadow={}"])
    before, after = sample_scene(plain, assets, 2), sample_scene(shaded, assets, 2)
    assert len(before.objects) > 5
    for a, b in zip(after.props, before.props, strict=False):  # same street, same draws
        assert (a.extents, a.color, a.texture, a.tile) == (b.extents, b.color, b.texture, b.tile)
        np.testing.assert_array_equal(a.pose, b.pose)
    assert [o.instance_id for o in after.objects] == [o.instance_id for o in before.objects]
    for a, b in zip(after.objects, before.objects, strict=True):
        np.testing.assert_array_equal(a.pose, b.pose)
    patches = after.props[len(before.props) :]
    assert len(patches) == len(after.objects)
    limits = shaded.placement.road.contact_shadow
    assert limits is not None
    for obj, patch in zip(after.objects, patches, strict=True):
        ext = obj.scale * assets[obj.catalog_index].extents
        bottom = obj.pose[2, 3] - ext[2] / 2
        assert patch.pose[2, 3] - patch.extents[2] / 2 == pytest.approx(bottom, abs=1e-9)
        np.testing.assert_allclose(patch.pose[:2, 3], obj.pose[:2, 3], atol=1e-12)
        np.testing.assert_allclose(patch.pose[:3, :3], obj.pose[:3, :3], atol=1e-12)
        grow = np.array(patch.extents[:2]) / ext[:2]
        assert grow[0] == pytest.approx(grow[1]) and limits.grow[0] <= grow[0] <= limits.grow[1]
        assert patch.extents[2] == limits.thickness
        grey = patch.color[0]
        assert patch.color == (grey, grey, grey, 1.0) and limits.value[0] <= grey <= limits.value[1]


def test_contact_shadow_rejects_unknown_keys() -> None:
    with pytest.raises(SimgenError, match="contact_shadow"):
        load_config(KITTI, ["placement.road.contact_shadow={darkness: 0.5}"])
