"""Same config and seed give the same bytes; another seed differs; resume completes exactly."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simgen.config import load_config
from simgen.produce.runner import render_dataset
from tests.conftest import SMALL

ARGS = ["--num", "6", "--quiet", *(x for o in SMALL for x in ("--set", o))]


def _cli_render(out: Path, seed: int) -> None:
    env = {**os.environ, "PYOPENGL_PLATFORM": "egl"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "simgen.cli",
            "render",
            "--out",
            str(out),
            "--seed",
            str(seed),
            *ARGS,
        ],
        check=True,
        env=env,
        capture_output=True,
    )


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _same_tree(a: Path, b: Path) -> bool:
    files = _files(a)
    if files != _files(b):
        return False
    _match, mismatch, errors = filecmp.cmpfiles(a, b, files, shallow=False)
    return not mismatch and not errors


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("determinism")
    _cli_render(root / "a", 5)
    _cli_render(root / "b", 5)
    _cli_render(root / "c", 6)
    return root


def test_two_processes_same_seed_are_byte_identical(runs):
    assert _files(runs / "a") == _files(runs / "b")
    assert _same_tree(runs / "a", runs / "b")


def test_different_seed_differs(runs):
    a = (runs / "a" / "annotations.json").read_bytes()
    c = (runs / "c" / "annotations.json").read_bytes()
    assert a != c
    assert (runs / "a" / "images" / "000000.png").read_bytes() != (
        runs / "c" / "images" / "000000.png"
    ).read_bytes()


def test_resume_after_losing_images_is_identical(runs, tmp_path):
    config = load_config(None, ["num_images=6", "seed=5", *SMALL])
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
    assert _same_tree(out, runs / "a")


def test_growing_a_dataset_keeps_existing_images(runs, tmp_path):
    out = tmp_path / "grown"
    render_dataset(load_config(None, ["num_images=2", "seed=5", *SMALL]), out)
    summary = render_dataset(load_config(None, ["num_images=6", "seed=5", *SMALL]), out)
    assert summary.resumed == 2 and summary.rendered == 4
    assert _same_tree(out, runs / "a")
