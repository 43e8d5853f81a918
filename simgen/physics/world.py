"""pybullet settle in DIRECT mode: drop the sampled objects onto the ground until they rest."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from simgen.geometry import pose_matrix, quaternion_from_rotation, rotation_from_quaternion
from simgen.physics.collision import CollisionGeometry, CollisionModel
from simgen.scene import SceneSample

if TYPE_CHECKING:  # not imported at run time: a physics helper process does not need it
    from simgen.config import PhysicsConfig

log = logging.getLogger(__name__)

GROUND_THICKNESS = 0.1
"""Metres; the ground slab's top face is z = 0."""

CHECK_EVERY = 10
"""Steps between rest checks."""

REST_CHECKS = 2
"""Consecutive rest checks every body must pass (one could catch a bounce at its apex)."""


@dataclass(frozen=True)
class SettleResult:
    """The settled scene and how it got there."""

    sample: SceneSample
    steps: int
    at_rest: bool


class PhysicsWorld:
    """One pybullet DIRECT client, created once and reset for every scene.

    Bodies are plain rigid bodies (``useMaximalCoordinates``), not single-link Featherstone
    multibodies: Bullet's rigid-body solver steps them faster (docs/benchmarks.md, "Figures
    behind defaults").

    ``resetSimulation`` before each scene makes a settle depend only on its input, not on the
    scenes simulated before it in the same process.

    Objects collide with a margin of 0. With pybullet's default margin an object colliding as
    its hull (the cone, the duck, the mug ...) came to rest about 0.95 mm above the ground and
    a cylinder on its side up to 0.4 mm below it; with 0, the rendered meshes of the cone, mug,
    teddy and bunny rest within 0.12 mm of it and the duck's within 0.44 mm (its simplified hull
    lies up to 0.88 mm inside the full one; four seeds each), and the deepest contact over 200
    default scenes was 0.14 mm.
    """

    def __init__(self) -> None:
        import pybullet

        self._p = pybullet
        self._client = pybullet.connect(pybullet.DIRECT)

    def close(self) -> None:
        """Disconnect the client (idempotent)."""
        if self._client is not None:
            self._p.disconnect(physicsClientId=self._client)
            self._client = None

    def __enter__(self) -> PhysicsWorld:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _collision_shape(self, model: CollisionModel, scale: float) -> int:
        p, cid = self._p, self._client
        extents = model.extents * scale
        if model.shape == "box":
            return p.createCollisionShape(
                p.GEOM_BOX, halfExtents=(extents / 2).tolist(), physicsClientId=cid
            )
        if model.shape == "sphere":
            return p.createCollisionShape(
                p.GEOM_SPHERE, radius=model.radius * scale, physicsClientId=cid
            )
        if model.shape == "cylinder":
            return p.createCollisionShape(
                p.GEOM_CYLINDER,
                radius=float(extents[0] / 2),
                height=float(extents[2]),
                physicsClientId=cid,
            )
        if model.shape == "capsule":  # Bullet's height: between the centres of the two caps
            return p.createCollisionShape(
                p.GEOM_CAPSULE,
                radius=float(extents[0] / 2),
                height=float(extents[2] - extents[0]),
                physicsClientId=cid,
            )
        return p.createCollisionShape(
            p.GEOM_MESH, vertices=(model.hull_vertices * scale).tolist(), physicsClientId=cid
        )

    def settle(
        self,
        sample: SceneSample,
        assets: Sequence[CollisionGeometry],
        masses: Sequence[float],
        physics: PhysicsConfig,
    ) -> SettleResult:
        """Simulate until every body rests (or ``physics.max_steps``); return the final poses.

        Objects listed in ``sample.held`` are fixed bodies (mass 0): they keep their poses.

        Args:
            sample: scene with initial drop poses.
            assets: the catalog (or its :func:`collision_models`);
                ``assets[obj.catalog_index]`` is each object's mesh.
            masses: kg per asset (same indexing as ``assets``).
            physics: step size, friction and rest thresholds (a :class:`PhysicsConfig`, or
                any object with its attributes).
        """
        p, cid = self._p, self._client
        p.resetSimulation(physicsClientId=cid)
        p.setGravity(0, 0, -9.81, physicsClientId=cid)
        p.setTimeStep(physics.timestep, physicsClientId=cid)
        half = sample.ground_size / 2
        ground_shape = p.createCollisionShape(
            p.GEOM_BOX, halfExtents=[half, half, GROUND_THICKNESS / 2], physicsClientId=cid
        )
        ground = p.createMultiBody(
            0,
            ground_shape,
            basePosition=[0, 0, -GROUND_THICKNESS / 2],
            useMaximalCoordinates=True,
            physicsClientId=cid,
        )
        p.changeDynamics(ground, -1, lateralFriction=physics.lateral_friction, physicsClientId=cid)
        for prop in sample.props:
            shape = p.createCollisionShape(
                p.GEOM_BOX, halfExtents=[e / 2 for e in prop.extents], physicsClientId=cid
            )
            qw, qx, qy, qz = quaternion_from_rotation(prop.pose[:3, :3])
            body = p.createMultiBody(
                0,
                shape,
                basePosition=prop.pose[:3, 3].tolist(),
                baseOrientation=[qx, qy, qz, qw],
                useMaximalCoordinates=True,
                physicsClientId=cid,
            )
            p.changeDynamics(
                body, -1, lateralFriction=physics.lateral_friction, physicsClientId=cid
            )
        bodies = []
        for obj in sample.objects:
            shape = self._collision_shape(CollisionModel.of(assets[obj.catalog_index]), obj.scale)
            qw, qx, qy, qz = quaternion_from_rotation(obj.pose[:3, :3])
            held = obj.instance_id in sample.held  # mass 0: pybullet keeps the body fixed
            body = p.createMultiBody(
                baseMass=0.0 if held else float(masses[obj.catalog_index]),
                baseCollisionShapeIndex=shape,
                basePosition=obj.pose[:3, 3].tolist(),
                baseOrientation=[qx, qy, qz, qw],
                useMaximalCoordinates=True,
                physicsClientId=cid,
            )
            p.changeDynamics(
                body,
                -1,
                lateralFriction=physics.lateral_friction,
                rollingFriction=physics.rolling_friction,
                spinningFriction=physics.spinning_friction,
                restitution=0.05,
                collisionMargin=0.0,  # see the class docstring
                physicsClientId=cid,
            )
            bodies.append(body)

        steps, at_rest, passed = 0, False, 0
        while steps < physics.max_steps:
            for _ in range(min(CHECK_EVERY, physics.max_steps - steps)):
                p.stepSimulation(physicsClientId=cid)
                steps += 1
            passed = passed + 1 if all(self._at_rest(b, physics) for b in bodies) else 0
            at_rest = passed >= REST_CHECKS
            if at_rest:
                break
        if not at_rest:
            log.debug(
                "scene %d: objects still moving after physics.max_steps=%d; rendered where they "
                "are (they may hover or touch)",
                sample.scene_index,
                physics.max_steps,
            )

        poses = []
        for body in bodies:
            position, (qx, qy, qz, qw) = p.getBasePositionAndOrientation(body, physicsClientId=cid)
            rotation = rotation_from_quaternion(np.array([qw, qx, qy, qz]))
            poses.append(pose_matrix(rotation, np.asarray(position, dtype=np.float64)))
        return SettleResult(sample.with_poses(poses, settled=True), steps, at_rest)

    def _at_rest(self, body: int, physics: PhysicsConfig) -> bool:
        """Slower than the thresholds, or fallen off the ground (it no longer matters)."""
        p, cid = self._p, self._client
        linear, angular = p.getBaseVelocity(body, physicsClientId=cid)
        if math.hypot(*linear) < physics.linear_threshold:
            if math.hypot(*angular) < physics.angular_threshold:
                return True
        position, _ = p.getBasePositionAndOrientation(body, physicsClientId=cid)
        return position[2] < -1.0
