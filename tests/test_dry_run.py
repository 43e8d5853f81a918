"""``simgen render --dry-run``: measured estimates of a run's time and disk, nothing written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from simgen.cli import main
from simgen.config import load_config
from simgen.produce.estimate import (
    estimate_run,
    format_bytes,
    format_duration,
    images_left,
    probe_scene_count,
)
from simgen.produce.runner import render_dataset

SMALL = ["image.width=96", "image.height=72", "objects.count=[1, 2]", "distractors.count=[0, 0]"]


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.0, "0.0 s"), (12.34, "12.3 s"), (185, "3 min 05 s"), (3725, "1 h 02 min")],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("count", "text"),
    [(512, "512 B"), (2048, "2 KiB"), (1.5 * 1024**3, "1.5 GiB"), (3 * 1024**4, "3 TiB")],
)
def test_format_bytes(count, text):
    assert format_bytes(count) == text


@pytest.mark.parametrize(
    ("num", "views", "scenes"), [(1, 4, 1), (8, 4, 2), (100, 4, 3), (100, 1, 9), (5, 1, 5)]
)
def test_probe_renders_a_first_scene_and_a_few_steady_ones(num, views, scenes):
    config = load_config(None, [f"num_images={num}", f"views_per_scene={views}"])
    assert probe_scene_count(config) == scenes


def test_new_run_estimate_is_consistent_and_writes_nothing(tmp_path):
    config = load_config(None, ["num_images=400", *SMALL])
    out = tmp_path / "not" / "yet"
    estimate = estimate_run(config, out, workers=2)
    assert not (tmp_path / "not").exists()
    assert (estimate.images, estimate.images_left, estimate.probe_images) == (400, 400, 12)
    assert (estimate.parallel, estimate.cores) == (min(2, os.cpu_count()), os.cpu_count())
    assert estimate.seconds_per_image > 0 and estimate.startup_seconds >= 0
    rate = min(2 / estimate.seconds_per_image, estimate.cores / estimate.cpu_seconds_per_image)
    assert estimate.images_per_second == pytest.approx(rate)
    assert estimate.seconds == pytest.approx(estimate.startup_seconds + 400 / rate)
    # a probe image is a PNG and a record: at least a PNG header and a JSON object
    assert estimate.bytes_per_image > 100 and estimate.annotation_bytes_per_image > 2
    assert estimate.disk_bytes == round(
        400 * estimate.bytes_per_image + 400 * estimate.annotation_bytes_per_image
    )
    assert estimate.free_bytes > 0


def test_resumed_run_counts_only_what_is_left(tmp_path):
    out = tmp_path / "data"
    render_dataset(load_config(None, ["num_images=4", *SMALL]), out)
    before = _tree(out)
    config = load_config(None, ["num_images=10", *SMALL])
    assert images_left(out, config) == 6
    estimate = estimate_run(config, out)
    assert estimate.images_left == 6
    assert _tree(out) == before  # the probe rendered elsewhere

    finished = load_config(None, ["num_images=4", *SMALL])
    done = estimate_run(finished, out)
    assert (done.images_left, done.seconds) == (0, 0.0)


def test_cli_dry_run_prints_the_estimate_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "data"
    args = ["render", "--out", str(out), "--num", "40", "--dry-run", "--workers", "2"]
    assert main([*args, *(a for s in SMALL for a in ("--set", s))]) == 0
    printed = capsys.readouterr().out
    for row in ("images to render", "estimated time", "estimated disk", "free disk"):
        assert row in printed
    assert "nothing written" in printed
    assert not out.exists()


def test_cli_dry_run_refuses_a_folder_of_another_config(tmp_path, capsys):
    out = tmp_path / "data"
    render_dataset(load_config(None, ["num_images=4", *SMALL]), out)
    before = _tree(out)
    sets = [a for s in SMALL for a in ("--set", s)]
    assert main(["render", "--out", str(out), "--seed", "7", "--dry-run", *sets]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "config.yaml" in err and "seed" in err
    assert _tree(out) == before
