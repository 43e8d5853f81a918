"""The asset library: every shipped file has a licence entry; names resolve, bad input: one line."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from simgen import library
from simgen.cli import main
from simgen.config import load_config
from simgen.errors import SimgenError
from simgen.randomize.texture import TextureConfig, sample_texture, validate_texture_folder

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_LICENCES = {"CC0-1.0", "public domain"}


def _tracked_assets() -> list[str]:
    """Files under assets/ that git tracks (what a clone ships), relative to assets/."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listing = subprocess.run(
        ["git", "ls-files", "assets"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return [line.removeprefix("assets/") for line in listing.stdout.splitlines() if line]


IMAGE_LIMIT = 100_000
"""Bytes: a shipped image is a small preview (256-300 px JPEG)."""
MESH_LIMIT = 200_000
"""Bytes: a shipped low-poly mesh (binary PLY with one vertex per face corner where the model
has hard edges, so it shades as drawn: the largest, a cyclist, is 173 kB)."""


def test_every_shipped_file_is_listed_with_a_free_licence():
    index = library.read_library(ROOT / "assets")
    library.check_library(index)
    shipped = [path for path in _tracked_assets() if path not in library.UNLISTED]
    assert shipped, "the repository ships no asset files"
    for path in shipped:
        entry = index.files[path]
        assert entry.licence in SHIPPED_LICENCES, path
        assert entry.source is None, f"{path} is committed but marked as installed"
        limit = MESH_LIMIT if path.endswith(".ply") else IMAGE_LIMIT
        assert (ROOT / "assets" / path).stat().st_size < limit, f"{path} is not small"
    installed = [f.path for f in index.files.values() if f.source is not None]
    assert installed and all(p.startswith("installed/") for p in installed)
    assert not set(installed) & set(shipped), "installed files must not be committed"


def _library(tmp_path: Path, *, installed: bool = False) -> Path:
    """A two-file library: one committed texture and one setup-time photo (from a wheel)."""
    root = tmp_path / "assets"
    (root / "textures").mkdir(parents=True)
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    ok, data = cv2.imencode(".png", image)
    assert ok
    (root / "textures" / "a.png").write_bytes(data.tobytes())
    digest = hashlib.sha256(data.tobytes()).hexdigest()
    index = {
        "names": {
            "textures": {"folder": "textures", "about": "one texture"},
            "installed/photos": {"folder": "installed/photos", "about": "one photo"},
        },
        "files": {
            "textures/a.png": {"licence": "CC0-1.0", "origin": "test", "sha256": digest},
            "installed/photos/b.png": {
                "licence": "CC0-1.0",
                "origin": "test",
                "source": "pkg/data/b.png",
                "sha256": digest,
            },
        },
    }
    (root / "index.yaml").write_text(yaml.safe_dump(index))
    if installed:
        (root / "installed" / "photos").mkdir(parents=True)
        shutil.copy(root / "textures" / "a.png", root / "installed" / "photos" / "b.png")
    return root


@pytest.fixture
def tmp_library(tmp_path, monkeypatch) -> Path:
    root = _library(tmp_path)
    monkeypatch.setenv("SIMGEN_ASSETS", str(root))
    return root


def test_asset_name_resolves_to_its_folder(tmp_library, tmp_path):
    scene = tmp_path / "scene.yaml"
    scene.write_text(
        "objects:\n  catalog:\n    - {category: box, primitive: box, size: 0.05}\n"
        "ground:\n  texture: {p: 1.0, kinds: [image], folder: 'assets:textures'}\n"
    )
    config = load_config(scene)
    assert Path(config.ground.texture.folder) == tmp_library / "textures"
    images = validate_texture_folder(
        Path(config.ground.texture.folder), source=scene, field="ground.texture.folder"
    )
    params = sample_texture(config.ground.texture, np.random.default_rng(1), images)
    assert params["path"] == str(tmp_library / "textures" / "a.png")


def _cli_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    "folder, message",
    [
        ("assets:nope", "unknown asset 'nope'"),
        ("assets:installed/photos", "asset 'installed/photos' is not installed"),
    ],
)
def test_bad_asset_name_is_one_line_exit_2(tmp_library, tmp_path, capsys, folder, message):
    scene = tmp_path / "scene.yaml"
    scene.write_text(
        "objects:\n  catalog:\n    - {category: box, primitive: box, size: 0.05}\n"
        f"background:\n  texture: {{kinds: [image], folder: '{folder}'}}\n"
    )
    out = tmp_path / "out"
    err = _cli_error(capsys, ["render", str(scene), "--out", str(out), "--num", "1", "--quiet"])
    assert f"{scene}: background.texture.folder: {message}" in err
    assert not out.exists()


@pytest.mark.parametrize("case", ["unlisted", "changed", "no_licence"])
def test_bad_library_is_one_line_exit_2(tmp_library, capsys, case):
    if case == "unlisted":
        (tmp_library / "textures" / "extra.png").write_bytes(b"x")
        expected = f"{tmp_library / 'textures' / 'extra.png'}: not listed in"
    elif case == "changed":
        (tmp_library / "textures" / "a.png").write_bytes(b"changed")
        expected = f"{tmp_library / 'textures' / 'a.png'}: sha256 differs"
    else:
        index = yaml.safe_load((tmp_library / "index.yaml").read_text())
        del index["files"]["textures/a.png"]["licence"]
        (tmp_library / "index.yaml").write_text(yaml.safe_dump(index))
        expected = "index.yaml: files.textures/a.png: missing 'licence'"
    assert expected in _cli_error(capsys, ["assets"])


def test_listing_names_licences_and_install_state(tmp_library, capsys):
    assert main(["assets"]) == 0
    out = capsys.readouterr().out
    assert "assets:textures" in out and "assets:installed/photos" in out
    assert "CC0-1.0" in out and "simgen assets install" in out
    assert "background.texture.folder=" in out  # how to use one's own photos


def _wheel(tmp_path: Path, payload: bytes) -> Path:
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("pkg/data/b.png", payload)
    return wheel


def test_install_verifies_and_is_idempotent(tmp_library, tmp_path, capsys):
    target = tmp_library / "installed" / "photos" / "b.png"
    bad = _wheel(tmp_path, b"not the listed bytes")
    err = _cli_error(capsys, ["assets", "install", "--wheel", str(bad)])
    assert "sha256 of pkg/data/b.png differs" in err
    assert not target.exists() and not list(target.parent.glob(".*"))
    good = _wheel(tmp_path, (tmp_library / "textures" / "a.png").read_bytes())
    assert main(["assets", "install", "--wheel", str(good)]) == 0
    assert "1 installed now" in capsys.readouterr().out
    assert target.is_file()
    assert main(["assets", "install", "--wheel", str(good)]) == 0
    assert "0 installed now, 1 already in place" in capsys.readouterr().out
    index = library.read_library(tmp_library)
    library.check_library(index)
    assert index.installed("installed/photos")
    library._checked.cache_clear()  # the library changed within this process
    assert library.resolve_asset("assets:installed/photos", source="s", field="f") == (
        target.parent
    )


def test_texture_folders_are_searched_recursively(tmp_path):
    folder = tmp_path / "photos"
    for relative in ("a.png", "split/b.png", "split/deeper/c.jpg", ".hidden/d.png"):
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), np.full((8, 8, 3), 128, np.uint8))
    found = validate_texture_folder(folder, source="scene.yaml", field="ground.texture.folder")
    assert [p.relative_to(folder).as_posix() for p in found] == [
        "a.png",
        "split/b.png",
        "split/deeper/c.jpg",
    ]
    (folder / "split" / "bad.png").write_bytes(b"not an image")
    with pytest.raises(SimgenError, match=r"unreadable image split/bad.png"):
        validate_texture_folder(folder, source="scene.yaml", field="ground.texture.folder")


def test_shipped_names_load_with_nothing_but_setup(tmp_path):
    """The committed textures need no install: a scene using them loads and samples."""
    scene = tmp_path / "scene.yaml"
    scene.write_text(
        "objects:\n  catalog:\n    - {category: box, primitive: box, size: 0.05}\n"
        "ground:\n  texture: {kinds: [image], folder: 'assets:textures/brick'}\n"
        "background:\n  texture: {kinds: [image], folder: 'assets:photos'}\n"
    )
    config = load_config(scene)
    for texture in (config.ground.texture, config.background.texture):
        assert isinstance(texture, TextureConfig)
        assert Path(texture.folder).is_relative_to(ROOT / "assets")
