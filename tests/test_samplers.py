"""Samplers stay in their configured ranges, rotations are uniform, class balance is met."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from simgen.assets import load_catalog
from simgen.config import LightsConfig, load_config
from simgen.errors import SimgenError
from simgen.randomize import sample_scene
from simgen.randomize.lighting import (
    LIGHT_KINDS,
    kelvin_to_rgb,
    reachable_light_counts,
    sample_lights,
)
from simgen.randomize.pose import (
    drop_poses,
    footprint_order,
    stand_then_drop_poses,
    uniform_rotation,
    upright_poses,
    volume_poses,
)
from simgen.randomize.scene import _place, entry_probabilities

SEEDS = [0, 1, 7]


@pytest.fixture(scope="module")
def config():
    return load_config(
        None,
        [
            "camera.roll_deg=[-20, 15]",
            "distractors.count=[1, 3]",
            "lights.count=[2, 3]",
            "objects.count=[2, 6]",
        ],
    )


@pytest.fixture(scope="module")
def assets(config):
    return load_catalog(config)


@pytest.mark.parametrize("seed", SEEDS)
def test_scene_values_within_ranges(config, assets, seed):
    cfg = config.model_copy(update={"seed": seed})
    cam = cfg.camera
    for j in range(40):
        sample = sample_scene(cfg, assets, j)
        labeled = [o for o in sample.objects if o.labeled]
        assert 2 <= len(labeled) <= 6
        assert 1 <= len(sample.objects) - len(labeled) <= 3
        for obj in sample.objects:
            entries = [*cfg.objects.catalog, *cfg.distractors.catalog]
            lo, hi = entries[obj.catalog_index].scale
            assert lo <= obj.scale <= hi
            assert obj.labeled == (obj.catalog_index < len(cfg.objects.catalog))
        assert 2 <= len(sample.lights) <= 3
        for light in sample.lights:
            assert max(light.color) == pytest.approx(1.0) and min(light.color) >= 0
        assert cfg.lights.ambient[0] <= sample.ambient <= cfg.lights.ambient[1]
        for view in sample.views:
            target_offset = cam.look_at_jitter * np.sqrt(3)
            eye = view.pose[:3, 3]
            forward = view.pose[:3, 2]
            # The optical axis passes the jittered target, at the sampled distance.
            assert cam.distance[0] - 1e-9 <= np.linalg.norm(eye) + target_offset
            assert np.linalg.norm(eye) - target_offset <= cam.distance[1] + 1e-9
            elevation = np.degrees(np.arcsin(-forward[2]))
            assert cam.elevation_deg[0] - 1e-6 <= elevation <= cam.elevation_deg[1] + 1e-6
            fov = np.degrees(2 * np.arctan(view.height / 2 / view.K[1, 1]))
            assert cam.fov_deg[0] - 1e-6 <= fov <= cam.fov_deg[1] + 1e-6
            # Roll: angle between the image x axis and the horizontal plane.
            right = view.pose[:3, 0]
            level = np.cross(forward, [0.0, 0.0, 1.0])
            level /= np.linalg.norm(level)
            roll = np.degrees(np.arctan2(np.dot(np.cross(level, right), forward), level @ right))
            assert cam.roll_deg[0] - 1e-6 <= roll <= cam.roll_deg[1] + 1e-6
            assert np.allclose(view.pose[:3, :3].T @ view.pose[:3, :3], np.eye(3))


def test_uniform_rotation_passes_ks_tests():
    rng = np.random.default_rng(1234)
    rotations = np.array([uniform_rotation(rng) for _ in range(4000)])
    # Rotation angle of a uniform rotation has CDF (theta - sin theta) / pi on [0, pi].
    cos_angle = np.clip((np.trace(rotations, axis1=1, axis2=2) - 1) / 2, -1, 1)
    angles = np.arccos(cos_angle)
    assert stats.kstest(angles, lambda t: (t - np.sin(t)) / np.pi).pvalue > 0.01
    # A rotated fixed axis is uniform on the sphere: its z component is uniform on [-1, 1].
    z = rotations[:, 2, 0]
    assert stats.kstest(z, stats.uniform(loc=-1, scale=2).cdf).pvalue > 0.01
    # And the rotations are proper.
    assert np.allclose(np.linalg.det(rotations), 1.0)


@pytest.mark.parametrize(
    "balance",
    ["uniform", {"duck": 0.5, "box": 0.3, "cone": 0.2}],
    ids=["uniform", "targets"],
)
def test_class_balance_reaches_targets(config, assets, balance):
    objects = config.objects.model_copy(update={"balance": balance})
    cfg = config.model_copy(update={"objects": objects})
    categories = cfg.categories()
    if balance == "uniform":
        targets = dict.fromkeys(categories, 1 / len(categories))
    else:
        targets = {name: balance.get(name, 0.0) for name in categories}
    counts = dict.fromkeys(categories, 0)
    for j in range(1000):
        for obj in sample_scene(cfg, assets, j).objects:
            if obj.labeled:
                counts[obj.category] += 1
    n = sum(counts.values())
    for name in categories:
        sigma = np.sqrt(max(targets[name] * (1 - targets[name]), 1e-12) / n)
        assert abs(counts[name] / n - targets[name]) <= 4 * sigma + 1e-12, (name, counts)


def test_entry_probabilities_split_categories_by_weight():
    cfg = load_config(
        None,
        [
            "objects.balance=uniform",
            "objects.catalog=[{category: a, primitive: box, size: 0.1, weight: 3},"
            "{category: a, primitive: sphere, size: 0.1, weight: 1},"
            "{category: b, primitive: cone, size: 0.1}]",
        ],
    )
    np.testing.assert_allclose(entry_probabilities(cfg.objects), [0.375, 0.125, 0.5])


def test_volume_and_upright_placements_do_not_overlap():
    rng = np.random.default_rng(5)
    radii = rng.uniform(0.02, 0.05, size=12)
    poses = volume_poses(radii, (0.4, 0.4), (0.1, 0.3), 0.01, 200, rng)
    centres = [(p[:3, 3], r) for p, r in zip(poses, radii, strict=True) if p is not None]
    assert len(centres) >= 10
    for i, (a, ra) in enumerate(centres):
        assert 0.1 <= a[2] <= 0.3 and np.all(np.abs(a[:2]) <= 0.2)
        for b, rb in centres[i + 1 :]:
            assert np.linalg.norm(a - b) >= ra + rb + 0.01
    extents = rng.uniform(0.03, 0.08, size=(8, 3))
    poses = upright_poses(extents, (0.5, 0.5), 0.0, 200, rng)
    for pose, ext in zip(poses, extents, strict=True):
        assert pose is not None
        assert np.allclose(pose[:3, 2], [0, 0, 1])  # upright
        assert pose[2, 3] == pytest.approx(ext[2] / 2)  # resting on z = 0


@pytest.mark.parametrize("seed", SEEDS)
def test_standing_objects_start_upright_and_the_rest_start_above_them(seed):
    rng = np.random.default_rng(seed)
    extents = rng.uniform(0.03, 0.2, size=(12, 3))
    standing = rng.random(12) < 0.5
    poses, stands = stand_then_drop_poses(extents, standing, (0.6, 0.6), 0.01, 200, rng)
    assert len(poses) == 12
    up = [bool(np.allclose(pose[:3, 2], [0, 0, 1])) for pose in poses]
    stood = [i for i in range(12) if up[i]]
    assert stands.tolist() == up  # the returned flags are the objects that start standing
    assert stood and all(standing[i] for i in stood)  # only flagged objects stand
    top = max(extents[i, 2] for i in stood)
    for n, i in enumerate(stood):
        assert poses[i][2, 3] == pytest.approx(extents[i, 2] / 2)  # resting on z = 0
        assert np.all(np.abs(poses[i][:2, 3]) <= 0.3)
        for j in stood[n + 1 :]:
            apart = np.linalg.norm(poses[i][:2, 3] - poses[j][:2, 3])
            assert apart >= 0.5 * (np.hypot(*extents[i, :2]) + np.hypot(*extents[j, :2])) + 0.01
    dropped = [i for i in range(12) if i not in stood]  # flagged ones without a footprint too
    radii = 0.5 * np.linalg.norm(extents, axis=1)
    for i in dropped:
        assert poses[i][2, 3] - radii[i] >= top + 0.01 - 1e-12  # above every standing object
    for n, i in enumerate(dropped):
        for j in dropped[n + 1 :]:
            gap = np.linalg.norm(poses[i][:3, 3] - poses[j][:3, 3])
            assert gap >= radii[i] + radii[j] + 0.01 - 1e-12


@pytest.mark.parametrize("seed", SEEDS)
def test_upright_p_stands_only_labeled_objects_and_zero_changes_nothing(config, assets, seed):
    cfg = config.model_copy(update={"seed": seed})
    # upright_p 0: exactly the plain drop's poses, and not one extra draw from the generator.
    extents = np.random.default_rng(seed).uniform(0.03, 0.2, size=(6, 3))
    labeled = np.array([True, True, False, True, False, False])
    ours, plain = np.random.default_rng(seed), np.random.default_rng(seed)
    placed, held = _place(cfg.placement, extents, labeled, ours)
    assert not held.any()
    radii = 0.5 * np.linalg.norm(extents, axis=1)
    expected = drop_poses(radii, cfg.placement.area, cfg.placement.gap, plain)
    assert [p.tobytes() for p in placed] == [p.tobytes() for p in expected]
    assert ours.bit_generator.state == plain.bit_generator.state
    placement = cfg.placement.model_copy(update={"upright_p": 1.0})
    upright = sample_scene(cfg.model_copy(update={"placement": placement}), assets, 3)
    up = [bool(np.allclose(obj.pose[:3, 2], [0, 0, 1])) for obj in upright.objects]
    labeled = [obj.labeled for obj in upright.objects]
    assert any(up) and not any(u and not lab for u, lab in zip(up, labeled, strict=True))
    top = max(obj.pose[2, 3] for obj, u in zip(upright.objects, up, strict=True) if u)
    for obj, u in zip(upright.objects, up, strict=True):
        if not u:  # distractors, and labeled objects that found no free footprint, fall on them
            assert obj.pose[2, 3] > top


@pytest.mark.parametrize("field", ["upright_p", "clutter_upright_p"])
@pytest.mark.parametrize("mode", ["upright", "volume"])
def test_upright_p_is_rejected_without_physics(mode, field):
    with pytest.raises(SimgenError, match=f"{field} applies to the drop and bin modes"):
        load_config(None, [f"placement.mode={mode}", f"placement.{field}=0.5"])


@pytest.mark.parametrize("seed", SEEDS)
def test_footprints_are_sought_labeled_first_then_largest_first(seed):
    rng = np.random.default_rng(seed)
    extents = rng.uniform(0.03, 0.2, size=(10, 3))
    standing, labeled = rng.random(10) < 0.7, rng.random(10) < 0.5
    order = footprint_order(extents, standing, labeled)
    assert order.dtype == np.int64
    assert sorted(order.tolist()) == np.flatnonzero(standing).tolist()
    keys = [(not labeled[i], -np.hypot(*extents[i, :2])) for i in order]
    assert keys == sorted(keys)


@pytest.mark.parametrize("seed", SEEDS)
def test_standing_footprints_follow_the_given_order(seed):
    rng = np.random.default_rng(seed)
    extents = rng.uniform(0.03, 0.2, size=(8, 3))
    standing = np.array([True, False, True, True, False, True, True, False])
    order = np.array([5, 0, 6, 3, 2])
    ours, twin = np.random.default_rng(seed), np.random.default_rng(seed)
    poses, _ = stand_then_drop_poses(extents, standing, (0.6, 0.6), 0.01, 200, ours, order)
    expected = upright_poses(extents[order], (0.6, 0.6), 0.01, 200, twin)
    for i, pose in zip(order, expected, strict=True):
        if pose is not None:  # one without a footprint falls instead (checked above)
            assert poses[i].tobytes() == pose.tobytes()
    with pytest.raises(ValueError, match="each standing object once"):
        stand_then_drop_poses(extents, standing, (0.6, 0.6), 0.01, 200, rng, order[:-1])


@pytest.mark.parametrize("seed", SEEDS)
def test_clutter_upright_p_stands_the_clutter_and_zero_changes_nothing(config, seed):
    extents = np.random.default_rng(seed).uniform(0.02, 0.06, size=(7, 3))
    labeled = np.array([True, False, True, False, False, True, False])
    targets = config.placement.model_copy(update={"upright_p": 1.0, "area": (1.0, 1.0)})
    # clutter_upright_p 0: the targets-only draws, byte for byte, and the same generator state.
    ours, twin = np.random.default_rng(seed), np.random.default_rng(seed)
    placed, _ = _place(targets, extents, labeled, ours)
    standing = labeled & (twin.random(7) < 1.0)
    expected, _ = stand_then_drop_poses(extents, standing, (1.0, 1.0), targets.gap, 200, twin)
    assert [p.tobytes() for p in placed] == [p.tobytes() for p in expected]
    assert ours.bit_generator.state == twin.bit_generator.state
    # clutter_upright_p 1 with room for all: every object starts standing on the ground.
    both = targets.model_copy(update={"clutter_upright_p": 1.0})
    placed, _ = _place(both, extents, labeled, np.random.default_rng(seed))
    for pose, ext in zip(placed, extents, strict=True):
        assert np.allclose(pose[:3, 2], [0, 0, 1])
        assert pose[2, 3] == pytest.approx(ext[2] / 2)


@pytest.mark.parametrize("seed", SEEDS)
def test_hold_upright_holds_the_standing_targets_sought_largest_first(config, seed):
    extents = np.random.default_rng(seed).uniform(0.02, 0.12, size=(9, 3))
    labeled = np.array([True, False, True, True, False, True, False, False, True])
    targets = config.placement.model_copy(update={"upright_p": 1.0, "area": (0.3, 0.3)})
    held_placement = targets.model_copy(update={"hold_upright": True})
    ours, twin = np.random.default_rng(seed), np.random.default_rng(seed)
    placed, held = _place(held_placement, extents, labeled, ours)
    # The same draws as upright_p alone, with the targets' footprints sought largest first.
    standing = labeled & (twin.random(9) < 1.0)
    order = footprint_order(extents, standing, labeled)
    area, gap = targets.area, targets.gap
    expected, stands = stand_then_drop_poses(extents, standing, area, gap, 200, twin, order)
    assert [p.tobytes() for p in placed] == [p.tobytes() for p in expected]
    assert ours.bit_generator.state == twin.bit_generator.state
    assert held.tolist() == (stands & labeled).tolist() and held.any()
    # Without it nothing is held.
    _, none = _place(targets, extents, labeled, np.random.default_rng(seed))
    assert not none.any()


@pytest.mark.parametrize("mode", ["upright", "volume"])
def test_hold_upright_needs_a_physics_placement(mode):
    with pytest.raises(SimgenError, match="hold_upright"):
        load_config(None, [f"placement.mode={mode}", "placement.hold_upright=true"])


@pytest.mark.parametrize("upright_p", [0.0, 0.5])
def test_hold_upright_needs_objects_that_start_standing(upright_p):
    overrides = ["placement.mode=drop", "placement.hold_upright=true"]
    overrides.append(f"placement.upright_p={upright_p}")
    if upright_p:
        assert load_config(None, overrides).placement.hold_upright
    else:
        with pytest.raises(SimgenError, match="upright_p"):
            load_config(None, overrides)


def test_held_instances_survive_the_record_and_nothing_held_writes_nothing(config, assets):
    placement = config.placement.model_copy(update={"upright_p": 1.0, "hold_upright": True})
    held = sample_scene(config.model_copy(update={"placement": placement}), assets, 0)
    plain = sample_scene(config, assets, 0)
    assert held.held and "held" not in plain.to_dict()
    assert type(held).from_dict(held.to_dict()).held == held.held
    assert type(plain).from_dict(plain.to_dict()).held == ()


@pytest.mark.parametrize("antialias", [True, False])
def test_antialias_reaches_the_sample_and_its_record(config, assets, antialias):
    image = config.image.model_copy(update={"antialias": antialias})
    sample = sample_scene(config.model_copy(update={"image": image}), assets, 0)
    assert sample.antialias is antialias
    # Records of the default keep their bytes; the other value is written and read back.
    assert ("antialias" in sample.to_dict()) is not antialias
    assert type(sample).from_dict(sample.to_dict()).antialias is antialias


def test_kelvin_colours_are_warm_to_cool():
    warm, daylight, cool = kelvin_to_rgb(2500), kelvin_to_rgb(6500), kelvin_to_rgb(12000)
    assert warm[0] == 1 and warm[2] < warm[1] < 1
    np.testing.assert_allclose(daylight, 1.0)
    assert cool[2] == 1 and cool[0] < cool[1] < 1


@pytest.mark.parametrize(
    ("count", "kinds"),
    [((1, 4), ["directional", "point", "spot"]), ((0, 2), ["spot", "point"]), ((3, 3), ["point"])],
)
def test_reachable_light_counts_are_what_the_sampler_draws(count, kinds):
    lights = LightsConfig(count=count, kinds=kinds)
    rng = np.random.default_rng(0)
    drawn = set()
    for _ in range(3000):
        kinds_drawn = [light.kind for light in sample_lights(lights, rng)]
        drawn.add(tuple(kinds_drawn.count(kind) for kind in LIGHT_KINDS))
    assert drawn == set(reachable_light_counts(lights))
