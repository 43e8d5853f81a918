"""Schema versions: configs and records carry ``schema_version``; datasets written before it
(version 0, no key) resume, replay, merge and inspect; newer ones fail naming the file; the
converter chain applies registered steps in order."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from simgen.cli import main
from simgen.composite.config import load_composite_config, validate_composite_config
from simgen.composite.run import composite_dataset
from simgen.config import (
    SceneConfig,
    default_scene_path,
    load_config,
    read_yaml,
    validate_config,
)
from simgen.dataset import versions
from simgen.dataset.merge import merge_datasets
from simgen.dataset.versions import (
    CONVERTERS,
    SCHEMA_VERSION,
    rename,
    unchanged,
    upgrade,
    upgrade_record,
)
from simgen.errors import SimgenError
from simgen.inspect.provenance import load_records as inspect_records
from simgen.inspect.provenance import summarize_records
from simgen.io import dump_json
from simgen.produce.replay import replay_image
from simgen.produce.runner import load_records, render_dataset

TINY = [
    "seed=3",
    "image.width=96",
    "image.height=72",
    "views_per_scene=2",
    "objects.count=[2,3]",
]
"""Two views per scene of a small image: a dataset renders in about a second."""

VERSION_LINE = f"schema_version: {SCHEMA_VERSION}\n"


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def make_version_0(root: Path) -> None:
    """Turn a dataset into what simgen wrote before schema versions (byte for byte: checked
    against a render by the previous commit): no ``schema_version`` line opening
    ``config.yaml``, no ``schema_version`` member opening the records."""
    config = root / "config.yaml"
    text = config.read_text()
    assert text.startswith(VERSION_LINE)
    config.write_text(text.removeprefix(VERSION_LINE))
    for path in sorted((root / "records").glob("*.json")):
        record = json.loads(path.read_text())
        assert next(iter(record)) == "schema_version"
        del record["schema_version"]
        path.write_text(dump_json(record))


def _scene(num: int) -> SceneConfig:
    return load_config(None, [f"num_images={num}", *TINY])


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    """``current``: 4 images as written now; ``old``: the same made version 0; ``fresh``: 6
    images in one run."""
    root = tmp_path_factory.mktemp("schema-version")
    render_dataset(_scene(4), root / "current")
    shutil.copytree(root / "current", root / "old")
    make_version_0(root / "old")
    render_dataset(_scene(6), root / "fresh")
    return {name: root / name for name in ("current", "old", "fresh")}


# -- what is written -------------------------------------------------------------------------


def test_config_and_records_start_with_the_version(rendered):
    assert (rendered["current"] / "config.yaml").read_text().startswith(VERSION_LINE)
    for path in sorted((rendered["current"] / "records").glob("*.json")):
        assert path.read_text().startswith(f'{{"schema_version":{SCHEMA_VERSION},"image":')


def test_every_kind_has_a_step_below_the_current_version():
    for kind, steps in CONVERTERS.items():
        assert sorted(steps) == list(range(SCHEMA_VERSION)), kind


# -- reading a version-0 dataset ------------------------------------------------------------


def test_old_dataset_resumes_to_the_bytes_of_a_fresh_run(rendered, tmp_path):
    out = tmp_path / "grown"
    shutil.copytree(rendered["old"], out)
    summary = render_dataset(_scene(6), out)
    assert (summary.resumed, summary.rendered) == (4, 2)
    grown, fresh, old = _files(out), _files(rendered["fresh"]), _files(rendered["old"])
    assert sorted(grown) == sorted(fresh)
    kept = {f"records/{i:06d}.json" for i in range(4)}
    for name in fresh:
        if name in kept:  # finished records are not rewritten: they stay version 0
            assert grown[name] == old[name]
            assert upgrade_record(json.loads(grown[name]), source=name) == json.loads(fresh[name])
        else:  # images, annotations.json, config.yaml, new records
            assert grown[name] == fresh[name], name


def test_old_dataset_loads_as_the_current_one(rendered):
    old, current = rendered["old"], rendered["current"]
    assert load_records(old, 4) == load_records(current, 4)
    assert inspect_records(old) == inspect_records(current)
    assert summarize_records(inspect_records(old)) == summarize_records(inspect_records(current))


@pytest.mark.parametrize("image_id", [1, 4])
def test_old_record_replays_exactly(rendered, image_id):
    result = replay_image(rendered["old"], image_id)
    assert result.pixels_match and result.labels_match


def test_old_dataset_validates_replays_and_reports_from_the_command_line(rendered, tmp_path):
    old = rendered["old"]
    assert main(["validate", str(old)]) == 0
    assert main(["replay", str(old), "2", "--out", str(tmp_path / "two.png")]) == 0
    assert (tmp_path / "two.png").read_bytes() == (old / "images" / "000001.png").read_bytes()
    report = tmp_path / "report.html"
    assert main(["report", str(old), "--out", str(report), "--n", "1"]) == 0
    assert "scenes at rest after physics" in report.read_text()  # the records' provenance


def test_old_dataset_merges_like_the_current_one(rendered, tmp_path):
    merge_datasets([rendered["old"]], tmp_path / "from_old")
    merge_datasets([rendered["current"]], tmp_path / "from_current")
    a, b = _files(tmp_path / "from_old"), _files(tmp_path / "from_current")
    a.pop("sources/000/config.yaml")  # each input's config.yaml is kept as it was
    b.pop("sources/000/config.yaml")
    assert a == b


# -- newer versions fail, naming the file ----------------------------------------------------


def _set_version(path: Path, version: int) -> None:
    if path.suffix == ".json":
        record = json.loads(path.read_text())
        path.write_text(dump_json({**record, "schema_version": version}))
    else:
        data = yaml.safe_load(path.read_text())
        path.write_text(yaml.safe_dump({**data, "schema_version": version}, sort_keys=False))


READERS = {
    "resume": lambda root: render_dataset(_scene(4), root),
    "replay": lambda root: replay_image(root, 1),
    "formats": lambda root: load_records(root, 4),
    "inspect": inspect_records,
    "merge": lambda root: merge_datasets([root], root.parent / "merged"),
}
"""Every reader, and the file it reads that is made newer (records/000000.json: image id 1)."""


@pytest.mark.parametrize(
    ("reader", "file"),
    [
        ("resume", "config.yaml"),
        ("replay", "config.yaml"),
        ("replay", "records/000000.json"),
        ("formats", "records/000000.json"),
        ("inspect", "records/000000.json"),
        ("merge", "records/000000.json"),
    ],
)
def test_a_newer_version_fails_naming_the_file(rendered, tmp_path, reader, file):
    root = tmp_path / "newer"
    shutil.copytree(rendered["current"], root)
    _set_version(root / file, SCHEMA_VERSION + 1)
    with pytest.raises(SimgenError) as info:
        READERS[reader](root)
    message = str(info.value)
    assert "\n" not in message
    assert str(root / file) in message
    assert f"schema_version: {SCHEMA_VERSION + 1}: written by a newer simgen" in message
    assert message.endswith("upgrade simgen")


def test_a_newer_version_fails_on_the_command_line(rendered, tmp_path, capsys):
    root = tmp_path / "newer"
    shutil.copytree(rendered["current"], root)
    _set_version(root / "records" / "000002.json", SCHEMA_VERSION + 7)
    assert main(["replay", str(root), "3", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"simgen: error: {root / 'records' / '000002.json'}: schema_version: "
        f"{SCHEMA_VERSION + 7}: written by a newer simgen (this one reads up to "
        f"{SCHEMA_VERSION}); upgrade simgen"
    ]


@pytest.mark.parametrize("bad", ["1", -1, True, 1.0, None])
def test_a_version_that_is_not_a_whole_number_is_rejected(bad):
    with pytest.raises(SimgenError, match=r"^scene\.yaml: schema_version: must be a whole"):
        validate_config({"schema_version": bad, **_default_scene()}, source="scene.yaml")


# -- scene and composite configs -------------------------------------------------------------


def _default_scene() -> dict:
    return read_yaml(default_scene_path())


@pytest.mark.parametrize("stated", [0, SCHEMA_VERSION])
def test_scene_files_may_state_an_older_or_the_current_version(tmp_path, stated):
    unstated, path = tmp_path / "unstated.yaml", tmp_path / "stated.yaml"
    unstated.write_text(yaml.safe_dump(_default_scene(), sort_keys=False))
    path.write_text(yaml.safe_dump({"schema_version": stated, **_default_scene()}))
    config = load_config(path)
    assert config.schema_version == SCHEMA_VERSION
    assert config == load_config(unstated)
    assert load_config(unstated, [f"schema_version={stated}"]) == config


def test_the_model_alone_accepts_only_the_current_version():
    data = validate_config(_default_scene(), source="s").model_dump(mode="json")
    assert SceneConfig.model_validate(data).schema_version == SCHEMA_VERSION
    with pytest.raises(ValueError, match="once converted"):
        SceneConfig.model_validate({**data, "schema_version": 0})


def test_composite_config_versions():
    config = load_composite_config(None)
    assert config.schema_version == SCHEMA_VERSION
    data = config.model_dump(mode="json")
    del data["schema_version"]  # a version-0 composite config.yaml
    assert validate_composite_config(data, source="c.yaml") == config
    with pytest.raises(SimgenError, match=r"^c\.yaml: schema_version: 5: written by a newer"):
        validate_composite_config({**data, "schema_version": 5}, source="c.yaml")


def _composite_inputs(root: Path) -> tuple[Path, Path]:
    """A mask folder (two classes, two images each: a bright square on noise) and a folder of
    three noise backgrounds."""
    rng = np.random.default_rng(0)
    instances, backgrounds = root / "instances", root / "backgrounds"
    for name in ("dent", "scratch"):
        (instances / name).mkdir(parents=True)
        for k in range(2):
            image = rng.integers(40, 120, (40, 48), dtype=np.uint8)
            mask = np.zeros(image.shape, np.uint8)
            mask[10 + 3 * k : 24, 12 : 30 + 2 * k] = 255
            image[mask > 0] = 220
            cv2.imwrite(str(instances / name / f"img_{k}.bmp"), image)
            cv2.imwrite(str(instances / name / f"img_{k}.png"), mask)
    backgrounds.mkdir()
    for k in range(3):
        image = rng.integers(60, 140, (80 + 10 * k, 100), dtype=np.uint8)
        cv2.imwrite(str(backgrounds / f"free_{k}.bmp"), image)
    return instances, backgrounds


def test_old_composite_dataset_resumes_to_the_bytes_of_a_fresh_run(tmp_path):
    instances, backgrounds = _composite_inputs(tmp_path)
    config = load_composite_config(None, ["num_images=5"])
    fresh, grown = tmp_path / "fresh", tmp_path / "grown"
    composite_dataset(config, instances, backgrounds, fresh)
    composite_dataset(config.model_copy(update={"num_images": 3}), instances, backgrounds, grown)
    make_version_0(grown)
    summary = composite_dataset(config, instances, backgrounds, grown)
    assert (summary.resumed, summary.composed) == (3, 2)
    a, b = _files(grown), _files(fresh)
    assert sorted(a) == sorted(b)
    for name in b:
        if name in {f"records/{i:06d}.json" for i in range(3)}:
            assert upgrade_record(json.loads(a[name]), source=name) == json.loads(b[name])
        else:
            assert a[name] == b[name], name


# -- the converter chain ---------------------------------------------------------------------

STEPS = {
    0: unchanged,
    1: rename("camera.fov_deg", "camera.fov"),
    2: rename("name", "title"),
}
"""A test registry: version 1 -> 2 renamed a nested field, 2 -> 3 a top-level one."""


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"name": "a", "camera": {"fov_deg": [40, 50], "roll_deg": [0, 0]}},
            {"schema_version": 3, "camera": {"roll_deg": [0, 0], "fov": [40, 50]}, "title": "a"},
        ),
        (  # from version 2: only the last step
            {"camera": {"fov_deg": 1}, "name": "a", "schema_version": 2},
            {"schema_version": 3, "camera": {"fov_deg": 1}, "title": "a"},
        ),
        (  # already in the new shape: the renames do nothing
            {"title": "a", "camera": {"fov": 1}},
            {"schema_version": 3, "title": "a", "camera": {"fov": 1}},
        ),
        ({"schema_version": 1}, {"schema_version": 3}),  # no camera: the rename is skipped
    ],
)
def test_the_chain_applies_the_steps_from_the_documents_version(document, expected):
    before = json.dumps(document)
    result = upgrade(document, "scene", source="f", converters=STEPS, current=3)
    assert result == expected and list(result) == list(expected)
    assert json.dumps(document) == before  # the input is not changed


def test_a_current_document_is_returned_as_is():
    document = {"schema_version": 3, "name": "a"}
    assert upgrade(document, "scene", source="f", converters=STEPS, current=3) is document


def test_a_missing_step_is_an_error():
    with pytest.raises(SimgenError, match=r"^f: no converter for scene documents of .* 1$"):
        upgrade({}, "scene", source="f", converters={0: unchanged}, current=2)


def test_a_registered_rename_lets_an_older_scene_load(monkeypatch):
    """As if version 2 had renamed ``camera.fov`` to ``camera.fov_deg``: a version-1 scene
    using the old name loads through :func:`validate_config`."""
    monkeypatch.setattr(versions, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(
        CONVERTERS, "scene", {0: unchanged, 1: rename("camera.fov", "camera.fov_deg")}
    )
    old = {**_default_scene(), "schema_version": 1, "camera": {"fov": [30.0, 35.0]}}
    config = validate_config(old, source="old.yaml")
    assert config.camera.fov_deg == (30.0, 35.0) and config.schema_version == 2
    with pytest.raises(SimgenError, match=r"^old\.yaml: camera\.fov: unknown key$"):
        validate_config({**old, "schema_version": 2}, source="old.yaml")


def test_a_rename_into_a_missing_section_is_a_converter_bug():
    step = rename("camera.fov", "lens.fov")
    with pytest.raises(ValueError, match=r"cannot rename camera\.fov to lens\.fov"):
        step({"camera": {"fov": 1}})
    assert step({"camera": {}}) == {"camera": {}}
