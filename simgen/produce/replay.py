"""Re-render one image of a dataset from its provenance record.

A record (``DIR/records/NNNNNN.json``) holds the scene exactly as rendered (object poses after
physics, materials and texture parameters, lights, cameras) and the post-render effects drawn
for that image. Rendering it again with the dataset's config gives the same pixels and labels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simgen.dataset.layout import CONFIG_FILE, IMAGES_DIR, record_path
from simgen.dataset.versions import upgrade_record
from simgen.errors import SimgenError


@dataclass(frozen=True)
class ReplayResult:
    """A re-rendered image and how it compares with the stored one.

    Attributes:
        rgb: (H, W, 3) uint8 re-rendered image (effects applied).
        annotations: per-image annotations as stored in records.
        pixels_match: the PNG bytes equal the dataset's image file.
        labels_match: the annotations equal the record's.
    """

    rgb: np.ndarray
    png: bytes
    annotations: list[dict[str, Any]]
    pixels_match: bool
    labels_match: bool


def _read_record(dataset: Path, image_id: int) -> dict[str, Any]:
    index = image_id - 1
    path = record_path(dataset, index)
    if index < 0 or not path.is_file():
        raise SimgenError(f"no record for image id {image_id}", file=path, field="IMAGE_ID")
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise SimgenError(f"invalid JSON: {exc}", file=path) from None
    if not isinstance(record, dict):
        raise SimgenError("expected a JSON object", file=path)
    return upgrade_record(record, source=path)


def replay_image(dataset: str | Path, image_id: int) -> ReplayResult:
    """Re-render COCO image ``image_id`` (= index + 1) of a simgen dataset directory."""
    from simgen.assets import load_catalog
    from simgen.config import validate_config
    from simgen.dataset.lifecycle import read_dataset_config
    from simgen.produce.runner import render_view
    from simgen.scene import SceneSample

    dataset = Path(dataset)
    config_path = dataset / CONFIG_FILE
    if not config_path.is_file():
        raise SimgenError("not a simgen dataset (no config.yaml)", file=dataset)
    config = read_dataset_config(dataset, validate_config)
    record = _read_record(dataset, image_id)
    sample = SceneSample.from_dict(record["scene"])
    assets = load_catalog(config, source=config_path)

    from simgen.render import create_renderer, single_threaded_blas

    renderer = create_renderer("pyrender", assets)
    try:
        with single_threaded_blas():
            view = render_view(
                config, assets, renderer, sample, record["view_index"], record.get("effects", [])
            )
    finally:
        renderer.close()
    stored = dataset / IMAGES_DIR / record["image"]["file_name"]
    return ReplayResult(
        rgb=view.rgb,
        png=view.png,
        annotations=view.annotations,
        pixels_match=stored.is_file() and stored.read_bytes() == view.png,
        labels_match=view.annotations == record["annotations"],
    )
