"""Render a dataset: sample → settle → render → label → write, resumable image by image.

The dataset folder's layout is :mod:`simgen.dataset.layout`'s; it is prepared, resumed and
finalized by :mod:`simgen.dataset.lifecycle`, like every dataset simgen writes.

Image ``i`` is view ``i % views_per_scene`` of scene ``i // views_per_scene``. A record's
presence marks its image as finished; re-running the same command skips finished images, so an
interrupted run (even one killed with SIGKILL) resumes and ends byte-identical to an
uninterrupted one.

The work is cut into shards (:mod:`simgen.produce.shards`) and run by a backend
(:mod:`simgen.produce.backends`): in this process (one worker), in local worker processes, or as Ray
tasks. Scene ``j`` draws only from ``(seed, j)``, so the files do not depend on the backend,
the worker count or the order in which shards ran. The format files are written at the end, in
image order, from the records.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simgen.assets import load_catalog
from simgen.config import SceneConfig, config_to_yaml, validate_config
from simgen.dataset.layout import DEPTH_DIR, IMAGES_DIR, RECORDS_DIR
from simgen.dataset.lifecycle import (
    OutputError,
    drop_annotations,
    finalize_dataset,
    load_records,
    output_failure,
    prepare_dataset,
    resumable_writes,
    start_dataset,
    with_resume_hint,
)
from simgen.errors import SimgenError
from simgen.produce.pipeline import ViewResult, draw_effects, render_view
from simgen.produce.shards import (
    AttemptBook,
    SceneFailure,
    ShardQueue,
    default_shard_size,
    make_shards,
    pending_views,
)
from simgen.produce.workers import (
    STAGES,
    ImageDone,
    JobSpec,
    SceneDone,
    SceneFailed,
    SceneProducer,
)
from simgen.version import __version__

log = logging.getLogger(__name__)

WARM_SHADERS_MIN_SCENES = 100
"""Scenes per worker from which workers compile their shader programs up front."""

__all__ = [
    "STAGES",
    "RunSummary",
    "SceneProducer",
    "ViewResult",
    "check_texture_folders",
    "draw_effects",
    "load_records",
    "render_dataset",
    "render_view",
]


@dataclass
class RunSummary:
    """What a run did. ``stage_seconds`` covers only images rendered in this run (summed over
    workers, so with several workers it exceeds ``seconds``).

    Attributes:
        failures: scenes given up on after repeated failures (their images are missing and
            the format files were not written; re-running retries them).
        retries: failed scene attempts that were retried.
        crashes: worker processes that died while rendering.
        crash_reports: one line per crash (what died, on which scene, what was done).
    """

    out_dir: Path
    images: int
    rendered: int
    resumed: int
    instances: Counter = field(default_factory=Counter)
    ignored: int = 0
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    unsettled_scenes: int = 0
    workers: int = 1
    backend: str = "local"
    failures: list[SceneFailure] = field(default_factory=list)
    retries: int = 0
    crashes: int = 0
    crash_reports: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=lambda: ["coco"])

    @property
    def images_per_second(self) -> float:
        return self.rendered / self.seconds if self.seconds > 0 else 0.0

    @property
    def complete(self) -> bool:
        """Every image is on disk and the format files are written."""
        return not self.failures


ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each finished image (and once at the start)."""


def check_texture_folders(config: SceneConfig, *, source: str | Path | None = None) -> None:
    """Validate every texture folder (exists, holds images, each decodes) before any write."""
    from simgen.config import texture_sections
    from simgen.randomize.texture import validate_texture_folder

    for path, texture in texture_sections(config):
        if texture.folder is not None:
            validate_texture_folder(Path(texture.folder), source=source, field=f"{path}.folder")


def _check_run_options(workers: int | None, recycle_after: int | None, max_attempts: int) -> None:
    if workers is not None and workers < 1:
        raise SimgenError("must be at least 1", field="--workers")
    if recycle_after is not None and recycle_after < 1:
        raise SimgenError("must be at least 1", field="--recycle-after")
    if max_attempts < 1:
        raise SimgenError("must be at least 1", field="--max-attempts")


def render_dataset(
    config: SceneConfig,
    out_dir: str | Path,
    *,
    source: str | Path | None = None,
    renderer: str = "pyrender",
    progress: ProgressCallback | None = None,
    workers: int | None = 1,
    backend: str = "local",
    address: str | None = None,
    recycle_after: int | None = None,
    max_attempts: int = 3,
    scenes_per_shard: int | None = None,
    formats: Sequence[str] = ("coco",),
    coco_polygons: bool = False,
    physics_process: bool | None = None,
    warm_shaders: bool | None = None,
) -> RunSummary:
    """Render ``config.num_images`` images into ``out_dir`` (resuming finished ones).

    Args:
        config: validated scene config.
        out_dir: dataset directory (created if missing).
        source: the scene file, named in errors about its meshes.
        renderer: renderer backend name.
        progress: optional callback ``(done, total)``, called in this process.
        workers: worker processes (``local``: 1 renders in this process) or Ray tasks in
            flight (``ray``; ``None``: the cluster's CPUs).
        backend: ``local`` or ``ray``.
        address: Ray cluster address (``ray`` only).
        recycle_after: replace a worker's process (or, in this process, its renderer and
            physics client) after this many scenes.
        max_attempts: attempts per scene (failures and worker crashes) before it is reported.
        scenes_per_shard: shard size (default from the scene and worker counts).
        formats: writer names (:data:`simgen.formats.WRITERS`); COCO is always written.
        coco_polygons: COCO segmentations as polygons instead of RLE.
        physics_process: settle scenes in a helper process per worker, recycled every
            :data:`~simgen.produce.physics_helper.RECYCLE_AFTER` scenes (bounds pybullet's leak,
            overlaps physics with rendering), or inside the worker. Default: in a helper
            process for local worker processes; inside the worker for one local worker (a
            spawned helper re-imports the calling script, which then needs an
            ``if __name__ == "__main__":`` guard; the ``simgen`` command has one and turns it
            on) and for Ray (whose ``max_calls`` recycling bounds the leak; a helper spawned
            there re-imports Ray). The images are the same either way.
        warm_shaders: compile every shader program the scene's lights can need when a worker
            starts (:attr:`PyrenderRenderer.warm_light_counts`; about 1 s on the default
            scene), so that its memory stays flat afterwards, instead of when a view first
            needs one. Default: when there are at least :data:`WARM_SHADERS_MIN_SCENES` scenes
            to render per worker. The images are the same either way.

    Returns:
        The summary; when ``summary.failures`` is not empty some images are missing and no
        format file was written (re-running retries the failed scenes).

    Raises:
        SimgenError: bad meshes, options or an unusable output directory; nothing is written.
        OutputError: the output could not be written (no space left, no permission ...);
            finished images are kept and re-running resumes.
    """
    from simgen.formats import parse_formats
    from simgen.produce.backends import BACKENDS, create_backend
    from simgen.render import check_renderer

    out_dir = Path(out_dir)
    _check_run_options(workers, recycle_after, max_attempts)
    if backend not in BACKENDS:
        raise SimgenError(f"unknown backend '{backend}'; choose from {', '.join(BACKENDS)}")
    format_names = parse_formats(formats)
    if backend == "ray":
        from simgen.produce.backends.ray_backend import import_ray

        import_ray()  # a missing optional dependency fails before anything is written
    check_renderer(renderer)  # so do other pyrender or PyOpenGL versions than the pins
    prepare_dataset(out_dir, config, validate_config)
    assets = load_catalog(config, source=source)  # fails before anything is written
    check_texture_folders(config, source=source)

    total = config.num_images
    views = config.views_per_scene
    folders = (IMAGES_DIR, RECORDS_DIR, *((DEPTH_DIR,) if config.output.depth else ()))
    with resumable_writes():
        start_dataset(out_dir, folders, config_to_yaml(config))
        pending = pending_views(out_dir, total, views)
        if pending:  # the COCO file describes a complete dataset only
            drop_annotations(out_dir)
    summary = RunSummary(
        out_dir=out_dir,
        images=total,
        rendered=0,
        resumed=total - sum(len(v) for v in pending.values()),
        workers=workers or 0,
        backend=backend,
        formats=format_names,
    )
    book = AttemptBook(seed=config.seed, max_attempts=max_attempts)
    # Ray without a worker count: plan for a few machines' worth of tasks.
    size = scenes_per_shard or default_shard_size(len(pending), workers or 8)
    queue = ShardQueue(make_shards(pending, size), book)
    done = summary.resumed
    if progress is not None:
        progress(done, total)

    def on_event(event) -> None:
        nonlocal done
        if isinstance(event, ImageDone):
            done += 1
            summary.rendered += 1
            if progress is not None:
                progress(done, total)
        elif isinstance(event, SceneDone):
            for key, value in event.stage_seconds.items():
                summary.stage_seconds[key] = summary.stage_seconds.get(key, 0.0) + value
            summary.unsettled_scenes += not event.at_rest
        elif isinstance(event, SceneFailed):
            error = output_failure(event.error)
            if error is not None:  # a full disk fails every scene alike: stop now
                raise error

    start = time.perf_counter()
    executor = None  # the backend that runs the shards
    if len(queue):
        if warm_shaders is None:
            warm_shaders = len(pending) >= WARM_SHADERS_MIN_SCENES * (workers or 8)
            if not warm_shaders:
                log.info(
                    "shader warm-up skipped (%d scenes, fewer than %d per worker): a worker "
                    "compiles each light count's shader program when a scene first needs it, "
                    "which delays that scene's images",
                    len(pending),
                    WARM_SHADERS_MIN_SCENES,
                )
        spec = JobSpec(
            config=config,
            out_dir=out_dir,
            source=None if source is None else Path(source),
            renderer=renderer,
            physics_process=(
                physics_process
                if physics_process is not None
                else backend == "local" and (workers or 1) > 1
            ),
            warm_shaders=warm_shaders,
        )
        executor = create_backend(
            backend, workers=workers, recycle_after=recycle_after, address=address, assets=assets
        )
    try:
        if executor is not None:
            executor.run(spec, queue, on_event)
        summary.seconds = time.perf_counter() - start
        summary.failures = book.sorted_failures()
        summary.retries = book.retries
        summary.crashes = queue.crashes
        summary.crash_reports = list(queue.crash_reports)
        if summary.unsettled_scenes:
            log.warning(
                "%d scene(s) still moving after physics.max_steps=%d were rendered "
                "where their objects were (some may hover or touch); raise physics.max_steps "
                "to settle them",
                summary.unsettled_scenes,
                config.physics.max_steps,
            )
        if not summary.failures:  # workers may still be exiting meanwhile
            _write_formats(out_dir, config, summary, assets, format_names, coco_polygons)
    except OutputError as exc:
        raise with_resume_hint(exc) from None
    finally:
        if executor is not None:
            executor.close()
    return summary


def _write_formats(
    out_dir: Path,
    config: SceneConfig,
    summary: RunSummary,
    assets: Sequence[Any],
    format_names: Sequence[str],
    coco_polygons: bool,
) -> None:
    """Count the instances of every record into ``summary`` and write the format files."""
    from simgen.formats import WriterOptions, create_writers

    total = config.num_images
    records = load_records(out_dir, total)
    for record in records:
        for ann in record["annotations"]:
            summary.instances[ann["category"]] += 1
            summary.ignored += bool(ann["ignore"])
    info = {
        "description": f"simgen dataset '{config.name}'",
        "version": __version__,
        "seed": config.seed,
        "num_images": total,
    }
    options = WriterOptions(info=info, coco_polygons=coco_polygons, assets=assets)
    writers = create_writers(format_names, options)
    finalize_dataset(out_dir, writers, records, config.categories())
