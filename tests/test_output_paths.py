"""Every way the output path can fail ends in one line naming the path and exit status 2, never
a traceback; what was finished stays, and running the command again resumes (render,
composite) or finishes (merge, import-bop) the dataset."""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import simgen.io
from simgen.cli import main
from simgen.config import load_config
from simgen.produce.runner import render_dataset
from tests.helpers import SHARED_DATASETS, make_backgrounds, make_sources, require_shared

TINY = ["--set", "image.width=64", "--set", "image.height=48"]
"""Render overrides that keep the images small."""

LMO = SHARED_DATASETS / "lmo-dev"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """Composite inputs, a small rendered dataset to merge, and a two-photo BOP split."""
    base = tmp_path_factory.mktemp("output-path-inputs")
    rendered = base / "rendered"
    config = load_config(None, ["num_images=3", "seed=3", "image.width=64", "image.height=48"])
    assert render_dataset(config, rendered).complete
    return {
        "sources": make_sources(base / "sources"),
        "backgrounds": make_backgrounds(base / "backgrounds"),
        "rendered": rendered,
        "base": base,
    }


def _bop_split(base: Path, images: int = 2) -> Path:
    """A copy of LMO test scene 2 cut to its first ``images`` photos (photos linked)."""
    scene = require_shared(LMO) / "test" / "000002"
    split = base / "bop-split"
    if not split.exists():
        (split / "000002").mkdir(parents=True)
        for name in ("scene_gt.json", "scene_camera.json", "scene_gt_info.json"):
            data = json.loads((scene / name).read_text())
            keep = sorted(data, key=int)[:images]
            (split / "000002" / name).write_text(json.dumps({k: data[k] for k in keep}))
        (split / "000002" / "rgb").symlink_to(scene / "rgb")
    return split


def _render(inputs: dict[str, Path], out: Path) -> list[str]:
    return ["render", "--out", str(out), "--num", "3", "--seed", "3", "--quiet", *TINY]


def _composite(inputs: dict[str, Path], out: Path) -> list[str]:
    return [
        "composite", "--instances", str(inputs["sources"]),
        "--backgrounds", str(inputs["backgrounds"]), "--out", str(out), "--num", "3", "--quiet",
    ]  # fmt: skip


def _merge(inputs: dict[str, Path], out: Path) -> list[str]:
    return ["merge", str(inputs["rendered"]), "--out", str(out)]


def _import_bop(inputs: dict[str, Path], out: Path) -> list[str]:
    split = _bop_split(inputs["base"])
    return ["import-bop", str(split), "--models", str(LMO / "models"), "--out", str(out), "-q"]


COMMANDS: dict[str, Callable[[dict[str, Path], Path], list[str]]] = {
    "render": _render,
    "composite": _composite,
    "merge": _merge,
    "import-bop": _import_bop,
}


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("simgen: error: ") and "Traceback" not in err
    return err


def _is_a_file(tmp_path: Path) -> tuple[Path, str]:
    out = tmp_path / "out"
    out.write_text("mine")
    return out, "is a file"


def _under_a_file(tmp_path: Path) -> tuple[Path, str]:
    (tmp_path / "plain").write_text("mine")
    return tmp_path / "plain" / "out", "is not a directory"


def _under_a_special_file(tmp_path: Path) -> tuple[Path, str]:
    return Path(os.devnull) / "out", "is not a directory"


def _special_file(tmp_path: Path) -> tuple[Path, str]:
    return Path(os.devnull), "not a directory"


def _no_permission(tmp_path: Path) -> tuple[Path, str]:
    if os.geteuid() == 0:
        pytest.skip("root ignores file permissions")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    return locked / "out", "no permission"


def _no_permission_in_dataset(tmp_path: Path) -> tuple[Path, str]:
    if os.geteuid() == 0:
        pytest.skip("root ignores file permissions")
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o500)
    return out, "no permission"


KINDS = {
    "is_a_file": _is_a_file,
    "under_a_file": _under_a_file,
    "under_a_special_file": _under_a_special_file,
    "special_file": _special_file,
    "no_permission": _no_permission,
    "no_permission_in_dataset": _no_permission_in_dataset,
}


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_unusable_output_path(tmp_path, capsys, inputs, command, kind):
    out, message = KINDS[kind](tmp_path)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    try:
        assert main(COMMANDS[command](inputs, out)) == 2
    finally:
        for path in (tmp_path / "locked", tmp_path / "out"):
            if path.is_dir():
                path.chmod(0o700)
    err = _one_line_error(capsys)
    assert str(out) in err and message in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written


def test_no_permission_is_checked_before_writing(tmp_path, capsys, inputs, monkeypatch):
    """As root (which ignores permissions) too: an output folder that ``os.access`` says may
    not be written is refused before anything is written."""
    out = tmp_path / "out"
    real_access = os.access

    def access(path, mode, **kwargs) -> bool:
        return Path(path) != tmp_path and real_access(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)
    for command in sorted(COMMANDS):
        if command == "import-bop":
            continue  # needs the shared data; the check is the same function
        assert main(COMMANDS[command](inputs, out)) == 2
        err = _one_line_error(capsys)
        assert str(out) in err and f"no permission to write in {tmp_path}" in err
        assert not out.exists()


FAILED_FILE = {
    "render": Path("records") / "000002.json",
    "composite": Path("records") / "000002.json",
    "merge": Path("records") / "000002.json",
    "import-bop": Path("annotations.json"),
}
"""The file whose write fails, per command: the last image's record, or the COCO file."""

WRITE_ERRORS = {
    "no_space": (errno.ENOSPC, "No space left on device"),
    "no_permission": (errno.EACCES, "Permission denied"),
    "read_only": (errno.EROFS, "Read-only file system"),
}


WRITE_CASES = [(command, "no_space") for command in sorted(COMMANDS)] + [
    ("render", error) for error in sorted(WRITE_ERRORS) if error != "no_space"
]
"""Every command with a full disk, and every kind of write error with render: the errors take
one path (:func:`simgen.dataset.lifecycle.output_error`), so the other pairs add no coverage."""


@pytest.mark.parametrize(("command", "error"), WRITE_CASES)
def test_failed_write_keeps_finished_work(tmp_path, capsys, inputs, monkeypatch, command, error):
    out = tmp_path / "out"
    argv = COMMANDS[command](inputs, out)
    failing = out / FAILED_FILE[command]
    code, reason = WRITE_ERRORS[error]
    real_write = simgen.io.atomic_write_bytes

    def write(path: Path, data: bytes) -> None:
        if Path(path) == failing:
            tmp = f"{path}{simgen.io.TMP_MARK}{os.getpid()}"
            raise OSError(code, reason, tmp)
        real_write(path, data)

    monkeypatch.setattr(simgen.io, "atomic_write_bytes", write)
    assert main(argv) == 2
    err = _one_line_error(capsys)
    assert f"{failing}: cannot write: {reason}" in err
    assert not (out / "annotations.json").exists()
    finished = {}
    if command != "import-bop":
        finished = {p.name: p.stat().st_mtime_ns for p in (out / "records").iterdir()}
        assert sorted(finished) == ["000000.json", "000001.json"]
    if command in ("render", "composite"):
        assert "re-run the same command to resume" in err

    monkeypatch.undo()
    assert main(argv) == 0
    coco = json.loads((out / "annotations.json").read_text())
    assert len(coco["images"]) == {"import-bop": 2}.get(command, 3)
    if command in ("render", "composite"):  # resumed: the finished images were not redone
        for name, mtime in finished.items():
            assert (out / "records" / name).stat().st_mtime_ns == mtime
    assert not [p for p in out.rglob("*") if simgen.io.TMP_MARK in p.name]


def test_full_disk_in_render_stops_at_once(tmp_path, capsys, monkeypatch):
    """A write error is not retried scene by scene like a failed render: the first one ends
    the run, before any later scene is rendered."""
    out = tmp_path / "out"
    written: list[str] = []
    real_write = simgen.io.atomic_write_bytes

    def write(path: Path, data: bytes) -> None:
        written.append(Path(path).name)
        if Path(path).parent.name == "images" and Path(path).name == "000000.png":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real_write(path, data)

    monkeypatch.setattr(simgen.io, "atomic_write_bytes", write)
    argv = ["render", "--out", str(out), "--num", "4", "--quiet", "--set", "views_per_scene=1"]
    assert main([*argv, *TINY, "--max-attempts", "3"]) == 2
    err = _one_line_error(capsys)
    assert str(out / "images" / "000000.png") in err and "No space left on device" in err
    assert written.count("000000.png") == 1 and "000001.png" not in written


def test_merge_refuses_a_finished_dataset_but_finishes_an_unfinished_merge(tmp_path, inputs):
    out = tmp_path / "out"
    assert main(_merge(inputs, out)) == 0
    assert main(_merge(inputs, out)) == 2  # finished: it holds annotations.json
    (out / "annotations.json").unlink()
    shutil.rmtree(out / "records")
    assert main(_merge(inputs, out)) == 0
    assert len(list((out / "records").iterdir())) == 3
