"""Collision shapes: which asset collides as which Bullet shape, and that a settled object's
rendered mesh rests on the ground, neither floating nor sunk."""

from __future__ import annotations

import numpy as np
import pytest

from simgen.assets import load_catalog, load_entry
from simgen.config import ObjectEntry, load_config
from simgen.geometry import transform_points
from simgen.physics.collision import CollisionModel
from simgen.physics.world import PhysicsWorld
from simgen.randomize import sample_scene


@pytest.mark.parametrize(
    ("source", "aspect", "shape"),
    [
        ({"primitive": "box"}, None, "box"),
        ({"primitive": "box"}, (3.0, 1.0, 0.5), "box"),
        ({"primitive": "sphere"}, None, "sphere"),
        ({"primitive": "sphere"}, (1.0, 1.0, 2.0), "hull"),  # an ellipsoid
        ({"primitive": "cylinder"}, None, "cylinder"),
        ({"primitive": "cylinder"}, (1.0, 1.0, 3.0), "cylinder"),  # a longer cylinder
        ({"primitive": "cylinder"}, (2.0, 1.0, 1.0), "hull"),  # an elliptic one
        ({"primitive": "capsule"}, None, "capsule"),
        ({"primitive": "capsule"}, (1.0, 1.0, 2.0), "hull"),  # ellipsoidal caps
        ({"primitive": "cone"}, None, "hull"),
        ({"mesh": "pybullet_data:soccerball.obj"}, None, "sphere"),  # within 0.5 % of a ball
        ({"mesh": "pybullet_data:duck.obj"}, None, "hull"),
    ],
)
def test_assets_collide_as_the_bullet_shape_that_fits_them(source, aspect, shape):
    asset = load_entry(ObjectEntry(**source, size=0.08, aspect=aspect, category="thing"))
    model = CollisionModel.of(asset)
    assert model.shape == shape
    assert (len(model.hull_vertices) > 0) == (shape == "hull")
    if shape == "sphere":
        distances = np.linalg.norm(asset.vertices, axis=1)
        assert distances.min() <= model.radius <= distances.max()
        assert distances.max() - distances.min() <= 0.01 * asset.extents.max()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    "source",
    [
        {"primitive": "sphere"},
        {"primitive": "capsule"},
        {"primitive": "cylinder"},
        {"primitive": "cone"},
        {"primitive": "box"},
        {"mesh": "pybullet_data:soccerball.obj"},
        {"mesh": "pybullet_data:bunny.obj"},  # its hull: all 90 vertices
    ],
)
def test_a_settled_object_rests_on_the_ground(source, seed):
    """Dropped alone, an object's rendered mesh ends touching z = 0: its lowest vertex within
    half a millimetre of the ground (the tessellation and Bullet's contact tolerance)."""
    catalog = [{**source, "size": 0.08, "category": "thing"}]
    overrides = [f"seed={seed}", f"objects.catalog={catalog}", "objects.count=[1,1]"]
    config = load_config(None, overrides)
    assets = load_catalog(config)
    sample = sample_scene(config, assets, 0)
    with PhysicsWorld() as world:
        result = world.settle(sample, assets, [0.2], config.physics)
    assert result.at_rest
    (obj,) = result.sample.objects
    lowest = transform_points(obj.pose, assets[0].vertices * obj.scale)[:, 2].min()
    assert abs(lowest) < 5e-4, f"lowest vertex at {1000 * lowest:.2f} mm"


def test_warm_geometry_fills_what_the_collision_models_read():
    """The parent computes each asset's collision model once before the workers start: a hull
    only for the assets that collide as one (simplifying the football's 3632-vertex hull, which
    collides as a sphere, took about 0.5 s)."""
    from simgen.assets import warm_geometry

    sources = [{"mesh": "pybullet_data:soccerball.obj"}, {"mesh": "pybullet_data:duck.obj"}]
    assets = [load_entry(ObjectEntry(**s, size=0.08, category="thing")) for s in sources]
    warm_geometry(assets)
    ball, duck = (vars(asset) for asset in assets)  # cached properties live in __dict__
    assert "round_radius" in ball and "hull_vertices" not in ball
    assert "round_radius" in duck and "hull_vertices" in duck
    assert "outline_vertices" in ball and "outline_vertices" in duck


@pytest.mark.parametrize("offset", [0.0, 0.02])
@pytest.mark.parametrize("hold", [False, True])
def test_a_held_target_stays_where_it_stands_when_clutter_falls_on_it(offset, hold):
    """``placement.hold_upright``: a tall target standing under a falling box is not moved at
    all (it is held fixed); unheld, the same box knocks it over."""
    target = {"primitive": "cylinder", "size": 0.08, "aspect": [0.4, 0.4, 3.0], "category": "t"}
    box = {"primitive": "box", "size": 0.08}
    overrides = [
        f"objects.catalog=[{target}]",
        "objects.count=[1,1]",
        f"distractors.catalog=[{box}]",
        "distractors.count=[1,1]",
        "placement.upright_p=1",
        f"placement.hold_upright={str(hold).lower()}",
    ]
    config = load_config(None, overrides)
    assets = load_catalog(config)
    sample = sample_scene(config, assets, 0)
    assert sample.held == ((1,) if hold else ())
    height = assets[0].extents[2]
    standing = np.eye(4)
    standing[2, 3] = height / 2
    falling = np.eye(4)
    falling[:3, 3] = [offset, 0.0, height + 0.1]
    sample = sample.with_poses([standing, falling], settled=False)
    with PhysicsWorld() as world:
        result = world.settle(sample, assets, [0.2, 1.0], config.physics)
    target_pose = result.sample.objects[0].pose
    if hold:
        assert target_pose.tobytes() == standing.tobytes()
    else:
        assert target_pose[2, 2] < np.cos(np.radians(45))  # fallen over
