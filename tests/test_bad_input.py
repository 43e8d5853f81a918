"""Bad input: one line naming file and field, exit status 2, and nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from simgen.cli import main

GOOD = """
objects:
  count: [1, 2]
  catalog:
    - {category: box, primitive: box, size: 0.05}
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _mesh_scene(tmp_path: Path, mesh_name: str) -> str:
    return f"""
objects:
  count: [1, 2]
  catalog:
    - {{category: box, primitive: box, size: 0.05}}
    - {{category: thing, mesh: {mesh_name}, size: 0.05}}
"""


CASES = {
    "empty_yaml": ("", None, "empty file"),
    "unknown_key": (GOOD + "camera: {distnce: [1, 2]}\n", "camera.distnce", "unknown key"),
    "wrong_type": (GOOD + "num_images: many\n", "num_images", "integer"),
    "negative_count": (GOOD.replace("[1, 2]", "[-1, 2]"), "objects.count.0", "greater than"),
    "min_greater_than_max": (
        GOOD + "camera: {distance: [2.0, 1.0]}\n",
        "camera.distance",
        "min > max",
    ),
    "primitive_and_mesh": (
        GOOD.replace("primitive: box,", "primitive: box, mesh: a.obj,"),
        "objects.catalog.0",
        "exactly one",
    ),
    "not_a_mapping": ("- 1\n- 2\n", None, "expected a mapping"),
    "bad_yaml": ("objects: [1, 2\n", "line", "invalid YAML"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config(tmp_path, capsys, case):
    text, field, message = CASES[case]
    scene = _write(tmp_path / "scene.yaml", text)
    out = tmp_path / "out"
    assert main(["render", str(scene), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert str(scene) in err
    if field:
        assert field in err
    assert message in err
    assert not out.exists()


MESHES = {
    "missing_mesh": (None, "mesh file not found"),
    "corrupt_mesh": (
        b"ply\nformat ascii 1.0\nelement vertex banana\nend_header\n1 2\n",
        "cannot read mesh",
    ),
    "mesh_without_faces": (b"v 0 0 0\nv 1 0 0\nv 0 1 0\n", "mesh has no faces"),
}


@pytest.mark.parametrize("case", sorted(MESHES))
def test_bad_mesh(tmp_path, capsys, case):
    content, message = MESHES[case]
    name = "thing.ply" if case == "corrupt_mesh" else "thing.obj"
    if content is not None:
        (tmp_path / name).write_bytes(content)
    scene = _write(tmp_path / "scene.yaml", _mesh_scene(tmp_path, name))
    out = tmp_path / "out"
    assert main(["render", str(scene), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert str(scene) in err and "objects.catalog.1.mesh" in err and message in err
    assert not out.exists()


def test_output_path_is_a_file(tmp_path, capsys):
    out = _write(tmp_path / "out", "not a directory")
    assert main(["render", "--out", str(out), "--num", "1", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(out) in err and "is a file" in err
    assert out.read_text() == "not a directory"


def test_output_dir_with_other_content_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["render", "--out", str(out), "--num", "1", "--quiet"]) == 2
    assert "no simgen dataset" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_resume_with_a_different_config_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["render", "--out", str(out), "--num", "1", "--quiet", "--set", "image.width=64"]
    assert main([*args, "--set", "image.height=48"]) == 0
    before = sorted(p.name for p in out.rglob("*"))
    assert main([*args, "--set", "image.height=64", "--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert "different config" in err and "seed" in err and "image" in err
    assert sorted(p.name for p in out.rglob("*")) == before


@pytest.mark.parametrize(
    "override, field",
    [
        ("camera.distnce=1", "camera.distnce"),
        ("objects.catalog.9.size=1", "objects.catalog.9"),
        ("novalue", "novalue"),
    ],
)
def test_bad_override(tmp_path, capsys, override, field):
    out = tmp_path / "out"
    assert main(["render", "--out", str(out), "--set", override, "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and field in err
    assert not out.exists()
