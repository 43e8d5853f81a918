"""Render a dataset: sample → settle → render → label → write, resumable image by image.

Layout of a dataset directory::

    config.yaml            the resolved config (seed and num_images included)
    images/NNNNNN.png      RGB images
    depth/NNNNNN.png       optional uint16 depth in millimetres
    records/NNNNNN.json    labels + everything sampled for the image (written after the image)
    annotations.json       COCO, written once every image is done

Image ``i`` is view ``i % views_per_scene`` of scene ``i // views_per_scene``. A record's
presence marks its image as finished; re-running the same command skips finished images, so an
interrupted run resumes and ends byte-identical to an uninterrupted one.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from simgen import __version__
from simgen.assets import Asset, catalog_entries, load_catalog
from simgen.config import SceneConfig, config_to_yaml, validate_config
from simgen.errors import SimgenError
from simgen.io import (
    atomic_write_bytes,
    atomic_write_text,
    depth_to_png16,
    dump_json,
    encode_png,
    remove_stale_temporaries,
)
from simgen.labels import annotate
from simgen.rng import view_rng
from simgen.writers.coco import CocoWriter, instance_annotation

CONFIG_FILE = "config.yaml"
STAGES = ("sample", "physics", "render", "labels", "effects", "write")


def image_name(index: int) -> str:
    """``NNNNNN`` stem of image ``index``."""
    return f"{index:06d}"


@dataclass
class RunSummary:
    """What a run did. ``stage_seconds`` covers only images rendered in this run."""

    out_dir: Path
    images: int
    rendered: int
    resumed: int
    instances: Counter = field(default_factory=Counter)
    ignored: int = 0
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    unsettled_scenes: int = 0

    @property
    def images_per_second(self) -> float:
        return self.rendered / self.seconds if self.seconds > 0 else 0.0


ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each finished image (and once at the start)."""


def prepare_output(out_dir: Path, config: SceneConfig) -> None:
    """Check that ``out_dir`` is new, empty, or a dataset of the same config (resume).

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
        old = validate_config(yaml.safe_load(existing.read_text()), source=existing)
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


def _record_path(out_dir: Path, index: int) -> Path:
    return out_dir / "records" / f"{image_name(index)}.json"


def load_records(out_dir: Path, count: int) -> list[dict[str, Any]]:
    """The records of images ``0 .. count-1`` in order."""
    return [json.loads(_record_path(out_dir, i).read_text()) for i in range(count)]


class SceneRenderer:
    """Per-worker state: the loaded catalog, one physics client and one renderer, reused."""

    def __init__(self, config: SceneConfig, assets: Sequence[Asset], renderer: str = "pyrender"):
        from simgen.physics import PhysicsWorld
        from simgen.render import create_renderer

        self.config = config
        self.assets = list(assets)
        self.masses = [entry.mass for _, entry in catalog_entries(config)]
        self.world = PhysicsWorld() if config.placement.uses_physics else None
        self.renderer = create_renderer(renderer, self.assets)

    def close(self) -> None:
        if self.world is not None:
            self.world.close()
        self.renderer.close()

    def render_scene(
        self,
        scene_index: int,
        view_indices: Sequence[int],
        out_dir: Path,
        summary: RunSummary,
        on_image: Callable[[], None] | None = None,
    ) -> None:
        """Sample, settle and render the listed views of one scene, writing each image."""
        from simgen.randomize import sample_scene

        config, stages = self.config, summary.stage_seconds
        t0 = time.perf_counter()
        sample = sample_scene(config, self.assets, scene_index)
        t1 = time.perf_counter()
        stages["sample"] += t1 - t0
        if self.world is not None:
            result = self.world.settle(sample, self.assets, self.masses, config.physics)
            sample = result.sample
            summary.unsettled_scenes += not result.at_rest
        stages["physics"] += time.perf_counter() - t1
        scene_dict = None
        for view_index in view_indices:
            index = scene_index * config.views_per_scene + view_index
            effects = draw_effects(config, scene_index, view_index)
            view = render_view(
                config, self.assets, self.renderer, sample, view_index, effects, stages
            )
            t4 = time.perf_counter()
            stem = image_name(index)
            atomic_write_bytes(out_dir / "images" / f"{stem}.png", view.png)
            if config.output.depth:
                atomic_write_bytes(
                    out_dir / "depth" / f"{stem}.png",
                    encode_png(depth_to_png16(view.depth), config.output.png_compression),
                )
            if scene_dict is None:
                scene_dict = sample.to_dict()
            record = {
                "image": {
                    "index": index,
                    "file_name": f"{stem}.png",
                    "width": config.image.width,
                    "height": config.image.height,
                    "scene_index": scene_index,
                    "view_index": view_index,
                },
                "annotations": view.annotations,
                "scene": scene_dict,
                "view_index": view_index,
                "effects": effects,
            }
            atomic_write_text(_record_path(out_dir, index), dump_json(record))
            stages["write"] += time.perf_counter() - t4
            summary.rendered += 1
            if on_image is not None:
                on_image()


@dataclass(frozen=True)
class ViewResult:
    """One finished image: final pixels, PNG bytes, depth, and its annotations."""

    rgb: np.ndarray
    png: bytes
    depth: np.ndarray | None
    annotations: list[dict[str, Any]]


def draw_effects(config: SceneConfig, scene_index: int, view_index: int) -> list[dict[str, Any]]:
    """The post-render effects drawn for one image from its own Generator (JSON-ready)."""
    if not config.effects:
        return []
    from simgen.effects import sample_effects

    return sample_effects(config.effects, view_rng(config.seed, scene_index, view_index))


def render_view(
    config: SceneConfig,
    assets: Sequence[Asset],
    renderer,
    sample,
    view_index: int,
    effects: Sequence[dict[str, Any]],
    stages: dict[str, float] | None = None,
) -> ViewResult:
    """Render, label and post-process one view: a pure function of its inputs.

    Labels come from the instance map, so pixel-only effects cannot change them.
    """
    t0 = time.perf_counter()
    output = renderer.render(sample, view_index)
    t1 = time.perf_counter()
    instances = annotate(
        sample, view_index, output, assets, visib_threshold=config.output.visib_threshold
    )
    annotations = [instance_annotation(inst) for inst in instances]
    t2 = time.perf_counter()
    rgb = output.rgb
    if effects:
        from simgen.effects import apply_effects

        rgb = apply_effects(rgb, effects)
    t3 = time.perf_counter()
    png = encode_png(rgb, config.output.png_compression)
    if stages is not None:
        stages["render"] += t1 - t0
        stages["labels"] += t2 - t1
        stages["effects"] += t3 - t2
        stages["write"] += time.perf_counter() - t3
    return ViewResult(rgb=rgb, png=png, depth=output.depth, annotations=annotations)


def render_dataset(
    config: SceneConfig,
    out_dir: str | Path,
    *,
    source: str | Path | None = None,
    renderer: str = "pyrender",
    progress: ProgressCallback | None = None,
) -> RunSummary:
    """Render ``config.num_images`` images into ``out_dir`` (resuming finished ones).

    Args:
        config: validated scene config.
        out_dir: dataset directory (created if missing).
        source: the scene file, named in errors about its meshes.
        renderer: backend name.
        progress: optional callback ``(done, total)``.

    Raises:
        SimgenError: bad meshes or an unusable output directory; nothing is written then.
    """
    out_dir = Path(out_dir)
    prepare_output(out_dir, config)
    assets = load_catalog(config, source=source)  # fails before anything is written
    check_texture_folders(config, source=source)

    total = config.num_images
    views = config.views_per_scene
    for sub in ("images", "records", *(("depth",) if config.output.depth else ())):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out_dir)
    atomic_write_text(out_dir / CONFIG_FILE, config_to_yaml(config))

    todo: dict[int, list[int]] = {}
    for index in range(total):
        if not _record_path(out_dir, index).is_file():
            todo.setdefault(index // views, []).append(index % views)
    summary = RunSummary(out_dir=out_dir, images=total, rendered=0, resumed=0)
    summary.resumed = total - sum(len(v) for v in todo.values())
    start = time.perf_counter()
    done = summary.resumed
    if progress is not None:
        progress(done, total)

    def advance() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    if todo:
        from simgen.render import single_threaded_blas

        worker = SceneRenderer(config, assets, renderer)
        try:
            with single_threaded_blas():
                for scene_index, view_indices in todo.items():
                    worker.render_scene(scene_index, view_indices, out_dir, summary, advance)
        finally:
            worker.close()
    summary.seconds = time.perf_counter() - start

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
    CocoWriter(info).finalize(out_dir, records, config.categories())
    return summary
