"""Write a composite dataset, image by image, resumable; the layout of a rendered dataset::

    config.yaml            the resolved composite config (inputs, seed and num_images included)
    images/NNNNNN.png      composite images (grayscale when the background was)
    records/NNNNNN.json    labels + every drawn parameter (written after its image)
    annotations.json       COCO (RLE), written once every image is done
    yolo/, yolo-seg/       other formats, when asked for

A record's presence marks its image finished; re-running the same command skips finished
images, so a killed run resumes and ends byte-identical to an uninterrupted one. The folder is
prepared, resumed and finalized by :mod:`simgen.dataset.lifecycle`, as ``simgen render``'s is.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from simgen.composite.compose import class_weights, compose_image
from simgen.composite.config import (
    CompositeConfig,
    composite_config_to_yaml,
    validate_composite_config,
)
from simgen.composite.sources import list_backgrounds, load_cutouts
from simgen.dataset.layout import IMAGES_DIR, RECORDS_DIR, image_path, record_path
from simgen.dataset.lifecycle import (
    atomic_write_bytes,
    atomic_write_text,
    drop_annotations,
    finalize_dataset,
    load_records,
    prepare_dataset,
    resumable_writes,
    start_dataset,
    unfinished,
)
from simgen.dataset.versions import SCHEMA_VERSION
from simgen.errors import SimgenError
from simgen.io import dump_json, encode_png
from simgen.version import __version__


@dataclass
class CompositeSummary:
    """What a composite run did."""

    out_dir: Path
    images: int
    composed: int
    resumed: int
    source_instances: int
    backgrounds: int
    instances: Counter = field(default_factory=Counter)
    not_placed: int = 0
    ignored: int = 0
    seconds: float = 0.0
    formats: list[str] = field(default_factory=lambda: ["coco"])

    @property
    def images_per_second(self) -> float:
        return self.composed / self.seconds if self.seconds > 0 else 0.0


def _check_background_classes(
    files: Sequence[Path],
    root: Path,
    mapping: Mapping[str, str] | None,
    categories: Sequence[str],
) -> None:
    """Every labeled background's class must be a class of the instance source (before anything
    is written).

    Raises:
        SimgenError: naming the mask file and its class.
    """
    from simgen.composite.sources import background_labels

    for path in files:
        for name, _ in background_labels(path, root, mapping):
            if name not in categories:
                raise SimgenError(
                    f"background instance of class '{name}', not a class of the instance "
                    f"source ({', '.join(categories)})",
                    file=path.with_suffix(".png"),
                    field="background_labels",
                )


def composite_dataset(
    config: CompositeConfig,
    instances: str | Path,
    backgrounds: str | Path,
    out_dir: str | Path,
    *,
    mapping: Mapping[str, str] | None = None,
    formats: Sequence[str] = ("coco",),
    coco_polygons: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> CompositeSummary:
    """Compose ``config.num_images`` images into ``out_dir`` (resuming finished ones).

    Args:
        config: validated composite config.
        instances: COCO dataset folder / JSON file, or mask folder, of the instances to paste.
        backgrounds: folder of defect-free background images.
        out_dir: dataset folder (created if missing).
        mapping: optional class renaming of the source.
        formats: writer names; COCO always, plus ``yolo`` / ``yolo-seg``.
        coco_polygons: COCO segmentations as polygons instead of RLE.
        progress: callback ``(done, total)``.

    Raises:
        SimgenError: bad inputs or an unusable output folder; nothing is written then.
        OutputError: the output could not be written (no space left, no permission ...);
            finished images are kept and re-running resumes.
    """
    from simgen.formats import WriterOptions, create_writers, mesh_formats, parse_formats

    out_dir = Path(out_dir)
    names = parse_formats(formats)
    if mesh_formats(names):
        raise SimgenError(
            f"composites have no meshes to write {mesh_formats(names)[0].upper()} from",
            field="--format",
        )
    instances, backgrounds = Path(instances).resolve(), Path(backgrounds).resolve()
    inputs = {"instances": str(instances), "backgrounds": str(backgrounds)}
    if mapping:
        inputs["mapping"] = ",".join(f"{k}={v}" for k, v in sorted(mapping.items()))
    config = config.model_copy(update={"inputs": inputs})
    cutouts, categories = load_cutouts(
        instances,
        mapping=mapping,
        context=config.transform.context_px,
        min_area=config.min_area,
    )
    class_weights(config, cutouts, categories)  # fails early on a bad balance
    files = list_backgrounds(backgrounds)
    if config.background_labels:
        _check_background_classes(files, backgrounds, mapping, categories)
    prepare_dataset(out_dir, config, validate_composite_config)
    with resumable_writes():
        total = config.num_images
        start_dataset(out_dir, (IMAGES_DIR, RECORDS_DIR), composite_config_to_yaml(config))
        pending = unfinished(out_dir, total)
        if pending:
            drop_annotations(out_dir)
        summary = CompositeSummary(
            out_dir=out_dir,
            images=total,
            composed=0,
            resumed=total - len(pending),
            source_instances=len(cutouts),
            backgrounds=len(files),
            formats=names,
        )
        if progress is not None:
            progress(summary.resumed, total)
        start = time.perf_counter()
        for index in pending:
            result = compose_image(
                config,
                index,
                cutouts,
                categories,
                files,
                background_root=backgrounds,
                mapping=mapping,
            )
            atomic_write_bytes(image_path(out_dir, index), encode_png(result.image))
            record = {"schema_version": SCHEMA_VERSION, **result.record}
            atomic_write_text(record_path(out_dir, index), dump_json(record))
            summary.composed += 1
            if progress is not None:
                progress(summary.resumed + summary.composed, total)
        summary.seconds = time.perf_counter() - start

        records = load_records(out_dir, total)
        for record in records:
            for ann in record["annotations"]:
                summary.instances[ann["category"]] += 1
                summary.ignored += bool(ann["ignore"])
            summary.not_placed += sum(not p.get("placed") for p in record["composite"]["pastes"])
        info = {
            "description": f"simgen composite dataset '{config.name}'",
            "version": __version__,
            "seed": config.seed,
            "num_images": total,
        }
        writers = create_writers(names, WriterOptions(info=info, coco_polygons=coco_polygons))
        finalize_dataset(out_dir, writers, records, categories)
        return summary
