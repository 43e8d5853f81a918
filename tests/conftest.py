"""Shared fixtures. EGL must be selected before anything imports OpenGL."""

from __future__ import annotations

import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

from pathlib import Path

import pytest

from simgen.config import load_config
from simgen.produce.runner import render_dataset

SMALL = ["image.width=320", "image.height=240"]
"""Overrides that keep test renders small."""


@pytest.fixture(scope="session")
def dataset(tmp_path_factory) -> Path:
    """The default scene, 8 images at 640x480 (two settled scenes, four views each)."""
    out = tmp_path_factory.mktemp("dataset")
    config = load_config(None, ["num_images=8", "seed=11", "output.depth=true"])
    render_dataset(config, out)
    return out
