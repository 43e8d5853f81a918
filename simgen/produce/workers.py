"""What one worker does: hold a renderer and a physics client, render shards, report events.

A :class:`Worker` is created once per process (in the main process for ``--workers 1``, in a
spawned process for the local backend, in a Ray worker process for the Ray backend) and reused
for every shard it is given. For each scene of a shard it re-checks which views still have no
record on disk, so a shard can be run again after a crash without duplicating work.

Each finished image is written atomically, image file(s) first and its record last; the record's
presence marks the image finished. Results travel as small picklable events.

Testing hook: ``SIMGEN_FAULT=KIND:SCENE[:MARKER_DIR]`` makes a worker fail when it starts scene
``SCENE``; ``KIND`` is ``raise`` (an exception) or ``crash`` (the process kills itself with
SIGKILL). With ``MARKER_DIR`` the fault fires once per scene (a marker file remembers it).
"""

from __future__ import annotations

import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")  # before anything imports OpenGL

import logging
import pickle
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simgen.assets import Asset, load_catalog
from simgen.config import SceneConfig
from simgen.dataset.layout import depth_path, image_file_name, image_path, record_path
from simgen.dataset.lifecycle import atomic_write_bytes, atomic_write_text
from simgen.dataset.versions import SCHEMA_VERSION
from simgen.io import depth_to_png16, dump_json, dump_json_object, encode_png
from simgen.memory import HeapTrimmer
from simgen.produce.physics_helper import RECYCLE_AFTER
from simgen.produce.pipeline import draw_effects, render_view
from simgen.produce.shards import Shard, missing_views

STAGES = ("sample", "physics", "render", "labels", "effects", "write")
"""Pipeline stages timed per scene."""

FAULT_ENV = "SIMGEN_FAULT"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobSpec:
    """Everything a worker needs to render images of one dataset (picklable).

    Attributes:
        config: the validated scene config.
        out_dir: the dataset directory (shared by all workers).
        source: the scene file, for resolving and naming meshes in errors.
        renderer: renderer backend name.
        physics_process: settle in a helper process (pipelined, recycled; see
            :mod:`simgen.produce.physics_helper`) instead of in the worker.
        physics_recycle_after: scenes per physics helper process.
        warm_shaders: compile the renderer's shader programs for every light count the
            config can draw, up front (see :meth:`SceneProducer.__init__`).
    """

    config: SceneConfig
    out_dir: Path
    source: Path | None = None
    renderer: str = "pyrender"
    physics_process: bool = True
    physics_recycle_after: int = RECYCLE_AFTER
    warm_shaders: bool = False


@dataclass(frozen=True)
class ImageDone:
    """Image ``index`` (file and record) is on disk."""

    index: int


@dataclass(frozen=True)
class SceneDone:
    """A scene finished: ``images`` rendered now, seconds per stage, physics at rest."""

    scene_index: int
    images: int
    stage_seconds: dict[str, float] = field(default_factory=dict)
    at_rest: bool = True


@dataclass(frozen=True)
class SceneFailed:
    """Rendering a scene raised; ``error`` is one line (exception type and message)."""

    scene_index: int
    error: str


Event = ImageDone | SceneDone | SceneFailed
Emit = Callable[[Event], None]


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class SceneProducer:
    """Produces a config's scenes, image files and records: the loaded catalog, a physics
    settler and one renderer (:class:`~simgen.render.base.Renderer`), reused across scenes.

    Args:
        config: the scene config.
        assets: the loaded catalog.
        renderer: renderer backend name.
        physics: a settler with ``submit(sample)`` / ``result()`` / ``close()``
            (:mod:`simgen.produce.physics_helper`); default: one in this process.
        warm_shaders: have the renderer compile its shaded pass for every light count the
            config's lights can draw as soon as a scene brings a new kind of material
            (:meth:`~simgen.render.base.Renderer.warm_shaders`).
    """

    def __init__(
        self,
        config: SceneConfig,
        assets: Sequence[Asset],
        renderer: str = "pyrender",
        physics=None,
        warm_shaders: bool = False,
    ):
        from simgen.render import create_renderer

        self.config = config
        self.assets = list(assets)
        if physics is None and config.placement.uses_physics:
            from simgen.produce.physics_helper import InlinePhysics

            physics = InlinePhysics(config, self.assets)
        self.physics = physics if config.placement.uses_physics else None
        try:
            self.renderer = create_renderer(renderer, self.assets)
        except BaseException:
            if self.physics is not None:  # a helper process would outlive the error
                self.physics.close()
            raise
        if warm_shaders:
            from simgen.randomize.lighting import reachable_light_counts

            self.renderer.warm_shaders(reachable_light_counts(config.lights))

    def close(self) -> None:
        """Release the physics settler and the GL context."""
        if self.physics is not None:
            self.physics.close()
        self.renderer.close()

    def prepare(self, scene_index: int) -> tuple[object, float]:
        """Sample scene ``scene_index`` and hand it to the physics settler.

        Returns:
            ``(sample, seconds)``; with a helper process the settle runs while the caller
            renders another scene.
        """
        from simgen.randomize import sample_scene

        t0 = time.perf_counter()
        sample = sample_scene(self.config, self.assets, scene_index)
        if self.physics is not None:
            self.physics.submit(sample)
        return sample, time.perf_counter() - t0

    def render_scene(
        self,
        scene_index: int,
        view_indices: Sequence[int],
        out_dir: Path,
        on_image: Emit | None = None,
        prepared: tuple[object, float] | None = None,
    ) -> SceneDone:
        """Settle (or collect the settled) scene and render the listed views, writing each image.

        Per image: the PNG (and depth PNG) first, then ``records/NNNNNN.json``, each written
        atomically; ``on_image`` is called with :class:`ImageDone` after the record.
        ``prepared`` is this scene's :meth:`prepare` result when it was called ahead.
        """
        config = self.config
        stages = dict.fromkeys(STAGES, 0.0)
        sample, stages["sample"] = prepared if prepared is not None else self.prepare(scene_index)
        t1 = time.perf_counter()
        at_rest = True
        if self.physics is not None:
            result = self.physics.result()
            sample, at_rest = result.sample, result.at_rest
        stages["physics"] += time.perf_counter() - t1
        scene_json = None
        for view_index in view_indices:
            index = scene_index * config.views_per_scene + view_index
            effects = draw_effects(config, scene_index, view_index)
            view = render_view(
                config, self.assets, self.renderer, sample, view_index, effects, stages
            )
            t4 = time.perf_counter()
            atomic_write_bytes(image_path(out_dir, index), view.png)
            if config.output.depth:
                atomic_write_bytes(
                    depth_path(out_dir, index),
                    encode_png(depth_to_png16(view.depth), config.output.png_compression),
                )
            if scene_json is None:  # encoded once, spliced into every view's record
                scene_json = dump_json(sample.to_dict())[:-1]
            image = {
                "index": index,
                "file_name": image_file_name(index),
                "width": config.image.width,
                "height": config.image.height,
                "scene_index": scene_index,
                "view_index": view_index,
            }
            record = [
                ("schema_version", SCHEMA_VERSION),
                ("image", image),
                ("annotations", view.annotations),
                ("scene", None),
                ("view_index", view_index),
                ("effects", effects),
            ]
            text = dump_json_object(record, {"scene": scene_json})
            atomic_write_text(record_path(out_dir, index), text)
            stages["write"] += time.perf_counter() - t4
            if on_image is not None:
                on_image(ImageDone(index))
        return SceneDone(scene_index, len(view_indices), stages, at_rest)


def _inject_fault(scene_index: int) -> None:
    """The ``SIMGEN_FAULT`` testing hook (see the module docstring)."""
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    kind, _, rest = spec.partition(":")
    scene, _, marker_dir = rest.partition(":")
    if int(scene) != scene_index:
        return
    if marker_dir:
        marker = Path(marker_dir) / f"fault-{scene_index}"
        if marker.exists():
            return
        marker.write_text(kind)
    if kind == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    raise RuntimeError(f"injected fault in scene {scene_index}")


class Worker:
    """A job's catalog and a :class:`SceneProducer`, created once and reused across shards.

    Args:
        spec: the job.
        assets: the loaded catalog (loaded from ``spec`` when omitted).
    """

    def __init__(self, spec: JobSpec, assets: Sequence[Asset] | None = None) -> None:
        self.spec = spec
        if assets is None:
            assets = load_catalog(spec.config, source=spec.source)
        self.assets = list(assets)
        self.scenes_attempted = 0
        self.heap = HeapTrimmer()
        self._producer: SceneProducer | None = None
        self._scene_producer()  # created now, so set-up errors surface before any shard

    def close(self) -> None:
        """Release the renderer and physics client (idempotent)."""
        if self._producer is not None:
            self._producer.close()
            self._producer = None

    def _scene_producer(self) -> SceneProducer:
        """The :class:`SceneProducer` (built again after :meth:`close`)."""
        if self._producer is None:
            spec = self.spec
            physics = None
            if spec.physics_process and spec.config.placement.uses_physics:
                from simgen.produce.physics_helper import PhysicsProcess

                physics = PhysicsProcess(spec.config, self.assets, spec.physics_recycle_after)
            self._producer = SceneProducer(
                spec.config, self.assets, spec.renderer, physics, spec.warm_shaders
            )
        return self._producer

    def run_shard(self, shard: Shard, emit: Emit, budget: int | None = None) -> None:
        """Render the shard's scenes in order, emitting events.

        Every scene attempted ends with exactly one :class:`SceneDone` or :class:`SceneFailed`.
        The next scene is sampled and handed to physics before the current one renders (with a
        physics helper process, the two overlap). After a failure the renderer and physics
        settler are rebuilt (their state may be broken). With ``budget``, at most that many
        scenes with work are attempted; the rest of the shard is left for the caller.
        """
        spec = self.spec
        views_per_scene = spec.config.views_per_scene
        todo: list[tuple[int, tuple[int, ...]]] = []
        for work in shard.scenes:
            views = missing_views(spec.out_dir, work, views_per_scene)
            if not views:
                emit(SceneDone(work.scene_index, 0))
            elif budget is None or len(todo) < budget:
                todo.append((work.scene_index, views))
        prepared: tuple[object, float] | None = None
        for position, (scene_index, views) in enumerate(todo):
            self.scenes_attempted += 1
            try:
                producer = self._scene_producer()
                current = prepared if prepared is not None else producer.prepare(scene_index)
                prepared = self._prepare_next(producer, todo, position)
                _inject_fault(scene_index)
                emit(producer.render_scene(scene_index, views, spec.out_dir, emit, current))
            except Exception as exc:
                emit(SceneFailed(scene_index, one_line(exc)))
                prepared = None  # the next scene is sampled again on the rebuilt worker
                self.close()
            self.heap.after_scene()  # gives freed memory back now and then (simgen.memory)

    @staticmethod
    def _prepare_next(
        producer: SceneProducer, todo: list[tuple[int, tuple[int, ...]]], position: int
    ) -> tuple[object, float] | None:
        """Start the scene after ``position`` (``None`` at the end, or if sampling it failed:
        it is then prepared again, and its error reported, when its turn comes)."""
        if position + 1 >= len(todo):
            return None
        try:
            return producer.prepare(todo[position + 1][0])
        except Exception as exc:
            log.debug(
                "preparing scene %d ahead failed (%s); retried in turn", todo[position + 1][0], exc
            )
            return None


# --- the local backend's worker process -------------------------------------------------------


@dataclass(frozen=True)
class Ready:
    """The worker process built its renderer and waits for shards."""


@dataclass(frozen=True)
class ShardEnded:
    """The worker is done with the shard it was given (scenes it did not report are left)."""

    shard_id: int


@dataclass(frozen=True)
class Retiring:
    """The worker rendered its quota of scenes and exits (recycling)."""


@dataclass(frozen=True)
class StartFailed:
    """The worker process could not set up (catalog, renderer or physics)."""

    error: str


def process_main(
    spec: JobSpec,
    conn: Any,
    recycle_after: int | None,
    llvmpipe_threads: int | None,
    receive_assets: bool = False,
) -> None:
    """Entry point of a local worker process: receive shards on ``conn``, send events back.

    With ``receive_assets`` the first message is the catalog as the parent loaded it (pickled
    bytes, with :func:`~simgen.assets.warm_geometry` done), so that the process need not load
    it again; otherwise the catalog is loaded from ``spec``.

    Receives :class:`~simgen.produce.shards.Shard` objects (``None`` to stop). Sends :class:`Ready`,
    then events per shard, then :class:`ShardEnded`. After ``recycle_after`` scenes it sends
    :class:`Retiring` (before that shard's :class:`ShardEnded`) and exits, so the parent can
    start a fresh process.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    from simgen.logs import configure_from_env

    configure_from_env()  # log at the level of the command that started this process
    if llvmpipe_threads:
        os.environ["LP_NUM_THREADS"] = str(llvmpipe_threads)
    from simgen.render import single_threaded_blas

    assets = None
    if receive_assets:
        import trimesh  # noqa: F401 - the meshes need it; imported while the parent sends

        try:
            assets = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):  # the parent is gone
            return
    try:
        worker = Worker(spec, assets)
    except Exception as exc:
        conn.send(StartFailed(one_line(exc)))
        return
    try:
        conn.send(Ready())
        with single_threaded_blas():
            while True:
                try:
                    shard = conn.recv()
                except EOFError:  # the parent is gone
                    return
                if shard is None:
                    return
                budget = None
                if recycle_after is not None:
                    budget = max(0, recycle_after - worker.scenes_attempted)
                worker.run_shard(shard, conn.send, budget)
                retiring = recycle_after is not None and worker.scenes_attempted >= recycle_after
                if retiring:  # said before ShardEnded, so no new shard is sent this way
                    conn.send(Retiring())
                conn.send(ShardEnded(shard.shard_id))
                if retiring:
                    return
    except (BrokenPipeError, EOFError):  # the parent is gone; finished images are on disk
        return
    finally:
        worker.close()
