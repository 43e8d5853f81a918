"""Shared fixtures (shared plain helpers are in ``tests/helpers.py``). EGL must be selected before
anything imports OpenGL.

Tests marked ``slow`` (the ``*_e2e.py`` files: several processes, Ray, detector training) can
run apart: ``pytest -m "not slow"`` is the fast set, ``pytest -m slow`` the rest."""

from __future__ import annotations

import json
import os
import shutil

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

from pathlib import Path

import pytest

from simgen.cli import main
from simgen.config import load_config
from simgen.produce.runner import render_dataset
from tests.helpers import BATCH_NUM, BATCH_OVERRIDES, GAP

GAP_EASY = [
    "image.width=192",
    "image.height=144",
    "views_per_scene=4",
    "camera.distance=[0.5, 0.8]",
    "camera.elevation_deg=[40, 80]",
    "objects.count=[2, 4]",
    "objects.catalog=[{category: box, primitive: box, size: 0.08},"
    " {category: ball, primitive: sphere, size: 0.08},"
    " {category: cone, primitive: cone, size: 0.09}]",
    "lights.shadows=false",
    "placement.mode=upright",
]
"""Overrides of an easy detection task for the gap check: three primitives, no shadows."""


@pytest.fixture(scope="session")
def dataset(tmp_path_factory) -> Path:
    """The default scene, 8 images at 640x480 (two settled scenes, four views each)."""
    out = tmp_path_factory.mktemp("dataset")
    config = load_config(None, ["num_images=8", "seed=11", "output.depth=true"])
    render_dataset(config, out)
    return out


@pytest.fixture(scope="session")
def batch_reference(tmp_path_factory) -> Path:
    """The batch run (``helpers.BATCH_OVERRIDES``) rendered by one uninterrupted process."""
    out = tmp_path_factory.mktemp("reference")
    summary = render_dataset(load_config(None, BATCH_OVERRIDES), out)
    assert summary.complete and summary.rendered == BATCH_NUM
    return out


@pytest.fixture(scope="session")
def gap_sets(tmp_path_factory) -> Path:
    """A folder with ``train`` (64 images, seed 1) and ``test`` (16 images, seed 2) datasets
    of the easy task :data:`GAP_EASY`."""
    root = tmp_path_factory.mktemp("gap")
    render_dataset(load_config(None, [*GAP_EASY, "num_images=64", "seed=1"]), root / "train")
    render_dataset(load_config(None, [*GAP_EASY, "num_images=16", "seed=2"]), root / "test")
    return root


@pytest.fixture(scope="session")
def report_dir(tmp_path_factory, dataset: Path) -> Path:
    """A copy of the session dataset with a gap.json."""
    root = tmp_path_factory.mktemp("report") / "data"
    shutil.copytree(dataset, root)
    (root / "gap.json").write_text(json.dumps(GAP))
    return root


@pytest.fixture(scope="session")
def report_html(report_dir: Path) -> Path:
    out = report_dir.parent / "report.html"
    assert main(["report", str(report_dir), "--out", str(out), "--n", "4"]) == 0
    return out
