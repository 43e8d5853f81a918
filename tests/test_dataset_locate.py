"""One rule finds a DATASET argument's COCO file and images (simgen.dataset.locate), and every
reader (inspect's views and validate, composite sources, gap) applies it alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simgen.dataset import layout
from simgen.dataset.locate import read_dataset, resolve_coco
from simgen.errors import SimgenError
from simgen.inspect.dataset import open_dataset

LAYOUTS: dict[str, tuple[str, list[str], str]] = {
    "simgen_folder": ("DIR", ["images/000000.png"], "images"),
    "simgen_json": ("DIR/annotations.json", ["images/000000.png"], "images"),
    "beside_the_json": ("DIR/annotations.json", ["000000.png", "images/other.png"], "."),
    "names_with_folder": ("DIR/annotations.json", ["images/000000.png"], "."),
    "missing_images_folder": ("DIR/annotations.json", ["images/other.png"], "images"),
    "nothing_anywhere": ("DIR/annotations.json", [], "."),
    "json_elsewhere": ("DIR/coco.json", ["images/000000.png"], "images"),
}
"""Name -> (the argument, files present under DIR, the images folder the rule gives)."""


def _make(root: Path, files: list[str], json_name: str, file_name: str) -> None:
    root.mkdir()
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")
    image = {"id": 1, "file_name": file_name, "width": 4, "height": 3}
    coco = {"images": [image], "annotations": [], "categories": []}
    (root / json_name).write_text(json.dumps(coco))


@pytest.mark.parametrize("case", sorted(LAYOUTS))
def test_every_reader_finds_the_same_images(tmp_path, case):
    argument, files, expected = LAYOUTS[case]
    root = tmp_path / "data"
    json_name = Path(argument).name if argument != "DIR" else layout.ANNOTATIONS_FILE
    file_name = "images/000000.png" if case == "names_with_folder" else "000000.png"
    _make(root, files, json_name, file_name)
    path = Path(argument.replace("DIR", str(root)))
    folder = (root / expected).resolve()
    assert resolve_coco(path)[1].resolve() == folder
    assert read_dataset(path)[1].images_dir.resolve() == folder
    assert open_dataset(path, strict=False).images_dir.resolve() == folder
    assert resolve_coco(path)[0] == root / json_name


def test_images_option_wins(tmp_path):
    root = tmp_path / "data"
    _make(root, ["images/000000.png"], layout.ANNOTATIONS_FILE, "000000.png")
    assert open_dataset(root, tmp_path, strict=False).images_dir == tmp_path


def test_simgen_root_needs_a_config(tmp_path):
    root = tmp_path / "data"
    _make(root, ["images/000000.png"], layout.ANNOTATIONS_FILE, "000000.png")
    assert read_dataset(root)[1].root is None
    (root / layout.CONFIG_FILE).write_text("seed: 1\n")
    assert read_dataset(root)[1].root == root
    assert read_dataset(root / layout.ANNOTATIONS_FILE)[1].root == root


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp, "directory holds no annotations.json"),
        (lambda tmp: tmp / "nowhere.json", "file not found"),
    ],
)
def test_bad_argument_is_one_line_naming_it(tmp_path, make, message):
    path = make(tmp_path)
    for read in (resolve_coco, read_dataset, open_dataset):
        with pytest.raises(SimgenError, match=message) as info:
            read(path)
        assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_layout_names_every_image_file_alike(tmp_path):
    assert layout.image_file_name(7) == "000007.png"
    assert layout.image_path(tmp_path, 7) == tmp_path / "images" / "000007.png"
    assert layout.depth_path(tmp_path, 7) == tmp_path / "depth" / "000007.png"
    assert layout.record_path(tmp_path, 7) == tmp_path / "records" / "000007.json"
    assert layout.record_path_of(tmp_path, "000007.png") == layout.record_path(tmp_path, 7)
    assert layout.source_dir(tmp_path, 2) == tmp_path / "sources" / "002"
