"""Render a dataset: sample → settle → render → label → write, resumable image by image.

Layout of a dataset directory::

    config.yaml            the resolved config (seed and num_images included)
    images/NNNNNN.png      RGB images
    depth/NNNNNN.png       optional uint16 depth in millimetres
    records/NNNNNN.json    labels + everything sampled for the image (written after the image)
    annotations.json       COCO, written once every image is done
    yolo/, yolo-seg/, bop/ other formats, when asked for (simgen.formats)

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

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from simgen import __version__
from simgen.assets import load_catalog
from simgen.config import SceneConfig, config_to_yaml, validate_config
from simgen.errors import SimgenError
from simgen.io import atomic_write_text, remove_stale_temporaries
from simgen.produce.pipeline import ViewResult, draw_effects, render_view
from simgen.produce.shards import (
    AttemptBook,
    SceneFailure,
    ShardQueue,
    default_shard_size,
    image_name,
    make_shards,
    pending_views,
    record_path,
)
from simgen.produce.workers import STAGES, ImageDone, JobSpec, SceneDone, SceneRenderer

CONFIG_FILE = "config.yaml"
ANNOTATIONS_FILE = "annotations.json"

WARM_SHADERS_MIN_SCENES = 100
"""Scenes per worker from which workers compile their shader programs up front."""

__all__ = [
    "CONFIG_FILE",
    "STAGES",
    "RunSummary",
    "SceneRenderer",
    "ViewResult",
    "check_texture_folders",
    "draw_effects",
    "image_name",
    "load_records",
    "prepare_output",
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


def prepare_output(
    out_dir: Path,
    config: BaseModel,
    validate: Callable[..., BaseModel] = validate_config,
) -> None:
    """Check that ``out_dir`` is new, empty, or a dataset of the same config (resume).

    Args:
        out_dir: the output directory.
        config: the new dataset's config (a scene config, or another kind's).
        validate: reads the existing ``config.yaml`` as ``validate(data, source=path)``.

    Raises:
        SimgenError: the path is a file, a non-dataset directory, or a different dataset.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise SimgenError("output path exists and is a file, not a directory", file=out_dir)
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return
    existing = out_dir / CONFIG_FILE
    if not existing.is_file():
        raise SimgenError(
            "output directory is not empty and holds no simgen dataset (no config.yaml)",
            file=out_dir,
        )
    try:
        old = validate(yaml.safe_load(existing.read_text()), source=existing)
    except (SimgenError, yaml.YAMLError, AttributeError, TypeError) as exc:
        raise SimgenError(
            f"cannot read the existing dataset's config: {exc}", file=existing
        ) from None
    old_data = old.model_dump(mode="json", exclude={"num_images"})
    new_data = config.model_dump(mode="json", exclude={"num_images"})
    if old_data != new_data:
        differing = sorted(k for k in new_data if old_data.get(k) != new_data[k])
        raise SimgenError(
            "output directory holds a dataset made with a different config; use another --out",
            file=existing,
            field=",".join(differing),
        )


def check_texture_folders(config: SceneConfig, *, source: str | Path | None = None) -> None:
    """Validate every texture folder (exists, holds images, each decodes) before any write."""
    from simgen.config import texture_sections
    from simgen.randomize.texture import validate_texture_folder

    for path, texture in texture_sections(config):
        if texture.folder is not None:
            validate_texture_folder(Path(texture.folder), source=source, field=f"{path}.folder")


def load_records(out_dir: Path, count: int) -> list[dict[str, Any]]:
    """The records of images ``0 .. count-1`` in order."""
    return [json.loads(record_path(out_dir, i).read_text()) for i in range(count)]


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
    """
    from simgen.formats import parse_formats
    from simgen.produce.backends import BACKENDS, create_backend

    out_dir = Path(out_dir)
    _check_run_options(workers, recycle_after, max_attempts)
    if backend not in BACKENDS:
        raise SimgenError(f"unknown backend '{backend}'; choose from {', '.join(BACKENDS)}")
    format_names = parse_formats(formats)
    if backend == "ray":
        from simgen.produce.backends.ray_backend import import_ray

        import_ray()  # a missing optional dependency fails before anything is written
    prepare_output(out_dir, config)
    assets = load_catalog(config, source=source)  # fails before anything is written
    check_texture_folders(config, source=source)

    total = config.num_images
    views = config.views_per_scene
    for sub in ("images", "records", *(("depth",) if config.output.depth else ())):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out_dir)
    atomic_write_text(out_dir / CONFIG_FILE, config_to_yaml(config))

    pending = pending_views(out_dir, total, views)
    if pending:  # the COCO file describes a complete dataset only
        (out_dir / ANNOTATIONS_FILE).unlink(missing_ok=True)
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

    start = time.perf_counter()
    runner = None
    if len(queue):
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
            warm_shaders=(
                warm_shaders
                if warm_shaders is not None
                else len(pending) >= WARM_SHADERS_MIN_SCENES * (workers or 8)
            ),
        )
        runner = create_backend(
            backend, workers=workers, recycle_after=recycle_after, address=address, assets=assets
        )
    try:
        if runner is not None:
            runner.run(spec, queue, on_event)
        summary.seconds = time.perf_counter() - start
        summary.failures = book.sorted_failures()
        summary.retries = book.retries
        summary.crashes = queue.crashes
        summary.crash_reports = list(queue.crash_reports)
        if not summary.failures:  # workers may still be exiting meanwhile
            _write_formats(out_dir, config, summary, assets, format_names, coco_polygons)
    finally:
        if runner is not None:
            runner.close()
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
    for writer in create_writers(format_names, options):
        writer.finalize(out_dir, records, config.categories())
