"""Resume completes exactly: a run that lost images, or grows, ends with the same bytes as one
uninterrupted run. Separate processes and seeds: test_determinism_e2e.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from simgen.config import load_config
from simgen.produce.runner import render_dataset
from tests.helpers import SMALL, assert_same_tree

OVERRIDES = ["num_images=6", "seed=5", *SMALL]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    """The 6 images of seed 5 rendered in one go."""
    out = tmp_path_factory.mktemp("uninterrupted")
    render_dataset(load_config(None, OVERRIDES), out)
    return out


def test_resume_after_losing_images_is_identical(uninterrupted, tmp_path):
    config = load_config(None, OVERRIDES)
    out = tmp_path / "resumed"
    render_dataset(config, out)
    # Simulate an interrupted run: the last images never finished, one temp file was left.
    for index in (3, 5):
        (out / "records" / f"{index:06d}.json").unlink()
        (out / "images" / f"{index:06d}.png").unlink()
    (out / "annotations.json").unlink()
    (out / "images" / "000005.png.tmp-999").write_bytes(b"partial")
    summary = render_dataset(config, out)
    assert summary.rendered == 2 and summary.resumed == 4
    assert_same_tree(out, uninterrupted)


def test_growing_a_dataset_keeps_existing_images(uninterrupted, tmp_path):
    out = tmp_path / "grown"
    render_dataset(load_config(None, ["num_images=2", "seed=5", *SMALL]), out)
    summary = render_dataset(load_config(None, OVERRIDES), out)
    assert summary.resumed == 2 and summary.rendered == 4
    assert_same_tree(out, uninterrupted)
