"""Same config and seed give the same bytes in separate `simgen render` processes, and the
same bytes as a run inside this process; another seed differs. Slow: every run is a process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from simgen.config import load_config
from simgen.produce.runner import render_dataset
from tests.helpers import SMALL, assert_same_tree, tree_files

pytestmark = pytest.mark.slow

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


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("determinism")
    _cli_render(root / "a", 5)
    _cli_render(root / "b", 5)
    _cli_render(root / "c", 6)
    return root


def test_two_processes_same_seed_are_byte_identical(runs):
    assert tree_files(runs / "a") == tree_files(runs / "b")
    assert_same_tree(runs / "a", runs / "b")


def test_different_seed_differs(runs):
    a = (runs / "a" / "annotations.json").read_bytes()
    c = (runs / "c" / "annotations.json").read_bytes()
    assert a != c
    assert (runs / "a" / "images" / "000000.png").read_bytes() != (
        runs / "c" / "images" / "000000.png"
    ).read_bytes()


def test_command_line_run_matches_a_run_in_this_process(runs, tmp_path):
    render_dataset(load_config(None, ["num_images=6", "seed=5", *SMALL]), tmp_path / "here")
    assert_same_tree(tmp_path / "here", runs / "a")
