"""Physics settling behind one small interface: in this process, or in a helper process.

pybullet never frees a mesh collision shape made from vertices: neither ``resetSimulation`` nor
``disconnect`` returns its memory (about 0.1 MiB per default tabletop scene with hulls of at most
128 vertices, 0.7 MiB with full hulls), so a long-lived process grows without bound.
:class:`PhysicsProcess` runs the settle in a spawned helper process that is replaced after
``recycle_after`` scenes, which bounds that growth, and lets the worker render one scene while
the next one settles. A helper is given the catalog's
:class:`~simgen.physics.collision.CollisionModel` objects, not the meshes, so it starts without
importing trimesh or loading the catalog.

Both variants give the same poses: a settle depends only on its input (see
:class:`simgen.physics.world.PhysicsWorld`).
"""

from __future__ import annotations

import signal
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # a helper process imports this module: keep it light (no config models)
    from simgen.assets import Asset
    from simgen.config import SceneConfig
    from simgen.scene import SceneSample

RECYCLE_AFTER = 500
"""Scenes a physics helper process settles before it is replaced: bounds the collision shapes
pybullet leaks, at the cost of one helper start-up per this many scenes (figures in
docs/benchmarks.md, "Figures behind defaults")."""


class InlinePhysics:
    """Settles in this process, when the result is asked for (no overlap)."""

    def __init__(self, config: SceneConfig, assets: Sequence[Asset]) -> None:
        from simgen.physics.collision import collision_models
        from simgen.physics.world import PhysicsWorld

        self.config = config
        self.models = collision_models(assets)
        self.masses = catalog_masses(config)
        self.world = PhysicsWorld()
        self._waiting: deque[SceneSample] = deque()

    def submit(self, sample: SceneSample) -> None:
        """Queue ``sample`` for settling."""
        self._waiting.append(sample)

    def result(self):
        """The :class:`~simgen.physics.world.SettleResult` of the oldest submitted sample."""
        sample = self._waiting.popleft()
        return self.world.settle(sample, self.models, self.masses, self.config.physics)

    def discard(self) -> None:
        """Forget every submitted sample."""
        self._waiting.clear()

    def close(self) -> None:
        """Disconnect the physics client."""
        self.world.close()


def catalog_masses(config: SceneConfig) -> list[float]:
    """kg per catalog entry, indexed like :func:`~simgen.assets.load_catalog`'s result."""
    from simgen.assets import catalog_entries

    return [entry.mass for _, entry in catalog_entries(config)]


def physics_main(
    physics: SimpleNamespace, masses: Sequence[float], models: Sequence, conn: Any, max_scenes: int
) -> None:
    """Entry point of a physics helper process: settle samples received on ``conn``.

    ``physics``: the config's :class:`~simgen.config.PhysicsConfig` fields as plain attributes
    (unpickling the pydantic model would import every config model); ``masses``: kg per
    catalog entry; ``models``: the catalog's
    :class:`~simgen.physics.collision.CollisionModel` objects.

    Answers each sample with ``("ok", SettleResult)`` or ``("error", message)``; exits after
    ``max_scenes`` samples, on ``None`` or when the parent is gone.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from simgen.physics.world import PhysicsWorld
    from simgen.render import single_threaded_blas

    with PhysicsWorld() as world, single_threaded_blas():
        for _ in range(max_scenes):
            try:
                sample = conn.recv()
            except EOFError:
                return
            if sample is None:
                return
            try:
                reply = ("ok", world.settle(sample, models, masses, physics))
            except Exception as exc:
                reply = ("error", f"{type(exc).__name__}: {' '.join(str(exc).split())}")
            try:
                conn.send(reply)
            except (BrokenPipeError, OSError):
                return


@dataclass
class _Generation:
    """One helper process and the samples sent to it, oldest first."""

    process: Any
    conn: Any
    sent: int = 0
    outstanding: deque = field(default_factory=deque)


class PhysicsProcess:
    """Settles in spawned helper processes, pipelined and recycled.

    The first helper is started at once; ``submit`` returns at once; ``result`` returns
    results in submission order. A helper is replaced after ``recycle_after`` samples. When a
    helper dies, the sample it was settling raises :class:`RuntimeError` in ``result``; samples
    queued behind it are sent to a new helper.

    Args:
        config: the scene config (physics parameters, catalog).
        assets: the loaded catalog (its collision models are sent to each helper).
        recycle_after: samples per helper process.
    """

    def __init__(
        self, config: SceneConfig, assets: Sequence[Asset], recycle_after: int = RECYCLE_AFTER
    ) -> None:
        import multiprocessing

        from simgen.physics.collision import collision_models

        self.physics = SimpleNamespace(**config.physics.model_dump())
        self.masses = catalog_masses(config)
        self.models = collision_models(assets)
        self.recycle_after = max(1, recycle_after)
        self._ctx = multiprocessing.get_context("spawn")
        self._generations: deque[_Generation] = deque()
        self.started = 0
        self._current()  # started now, so that it imports while the caller sets up

    def _current(self) -> _Generation:
        if not self._generations or self._generations[-1].sent >= self.recycle_after:
            parent_conn, child_conn = self._ctx.Pipe(duplex=True)
            process = self._ctx.Process(
                target=physics_main,
                args=(self.physics, self.masses, self.models, child_conn, self.recycle_after),
                name=f"simgen-physics-{self.started}",
                daemon=True,
            )
            process.start()
            child_conn.close()
            self.started += 1
            self._generations.append(_Generation(process, parent_conn))
        return self._generations[-1]

    def submit(self, sample: SceneSample) -> None:
        """Send ``sample`` to be settled."""
        generation = self._current()
        generation.conn.send(sample)
        generation.sent += 1
        generation.outstanding.append(sample)

    def result(self):
        """The :class:`~simgen.physics.world.SettleResult` of the oldest submitted sample.

        Raises:
            RuntimeError: the settle raised, or the helper process died while on it.
        """
        generation = self._generations[0]
        generation.outstanding.popleft()
        try:
            status, value = generation.conn.recv()
        except (EOFError, OSError):
            generation.process.join()
            code = generation.process.exitcode
            self._generations.popleft()
            generation.conn.close()
            self._resubmit(list(generation.outstanding))  # queued behind the lost one
            raise RuntimeError(f"physics process died (exit code {code})") from None
        self._retire_finished()
        if status != "ok":
            raise RuntimeError(value)
        return value

    def _resubmit(self, samples: list[SceneSample]) -> None:
        """Send ``samples`` again, ahead of everything still outstanding, keeping the order."""
        if not samples:
            return
        later = [s for g in self._generations for s in g.outstanding]
        self.discard()
        for item in (*samples, *later):
            self.submit(item)

    def _retire_finished(self) -> None:
        while (
            self._generations
            and not self._generations[0].outstanding
            and self._generations[0].sent >= self.recycle_after
        ):
            generation = self._generations.popleft()
            generation.process.join(timeout=10)
            generation.conn.close()

    def discard(self) -> None:
        """Stop every helper process and forget what was submitted."""
        while self._generations:
            generation = self._generations.popleft()
            try:
                generation.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
            generation.process.join(timeout=2)
            if generation.process.is_alive():
                generation.process.kill()
                generation.process.join()
            generation.conn.close()

    def close(self) -> None:
        """Stop the helper processes."""
        self.discard()
