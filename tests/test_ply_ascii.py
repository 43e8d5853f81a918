"""simgen.ply_ascii: ASCII PLY bodies read in one pass give exactly trimesh's own elements."""

from __future__ import annotations

import io

import numpy as np
import pytest

trimesh = pytest.importorskip("trimesh")
ply = pytest.importorskip("trimesh.exchange.ply")

from simgen.ply_ascii import install, read_ascii_body  # noqa: E402


def _ply_text(rng: np.random.Generator, *, faces_per_row: list[int], extra: str = "") -> str:
    n = 9
    vertices = rng.uniform(-50, 50, (n, 3))
    normals = rng.normal(size=(n, 3))
    colors = rng.integers(0, 256, (n, 4))
    lines = [
        "ply",
        "format ascii 1.0",
        "comment made by a test",
        f"element vertex {n}",
        "property float x",
        "property float y",
        "property float z",
        "property float nx",
        "property float ny",
        "property float nz",
        "property uchar red",
        "property uchar green",
        "property uchar blue",
        "property uchar alpha",
        f"element face {len(faces_per_row)}",
        "property list uchar int vertex_indices",
        "end_header",
    ]
    for v, nrm, c in zip(vertices, normals, colors, strict=True):
        lines.append(
            " ".join([*(f"{x:.6g}" for x in v), *(f"{x:.6g}" for x in nrm), *map(str, c)]) + " "
        )
    for k in faces_per_row:
        lines.append(" ".join(map(str, [k, *rng.choice(n, k, replace=False)])))
    return "\n".join(lines) + "\n" + extra


def _elements(raw: bytes, reader) -> dict:
    file_obj = io.BytesIO(raw)
    elements, is_ascii, _ = ply._parse_header(file_obj)
    assert is_ascii
    reader(elements, file_obj)
    return elements


def _fast(elements, file_obj):
    raw = file_obj.read()
    assert read_ascii_body(elements, raw, ply._load_element_single)


def _same(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for name in a:
        assert list(a[name]["data"]) == list(b[name]["data"])
        for column, values in a[name]["data"].items():
            other = b[name]["data"][column]
            assert values.dtype == other.dtype
            np.testing.assert_array_equal(values, other)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("faces", [[3] * 14, [4] * 5, [3]])
@pytest.mark.parametrize("ending", ["", "\n", "\n\n", "1 2 3\n"])
def test_uniform_rows_give_trimesh_elements(seed, faces, ending):
    raw = _ply_text(np.random.default_rng(seed), faces_per_row=faces, extra=ending).encode()
    reference = _elements(raw, _reference_reader())
    _same(_elements(raw, _fast), reference)


def _reference_reader():
    """trimesh's own ``_ply_ascii`` (also after :func:`install`)."""
    return getattr(ply._ply_ascii, "__wrapped__", ply._ply_ascii)


@pytest.mark.parametrize(
    "raw",
    [
        # faces of different lengths: trimesh reads them row by row
        _ply_text(np.random.default_rng(0), faces_per_row=[3, 4, 3]),
        # Windows line endings, a blank line inside the vertices, an unparsable number
        _ply_text(np.random.default_rng(1), faces_per_row=[3, 3]).replace("\n", "\r\n"),
        _ply_text(np.random.default_rng(2), faces_per_row=[3, 3]).replace("\n-", "\n\n-", 1),
        _ply_text(np.random.default_rng(3), faces_per_row=[3, 3]).replace(" 0 ", " 0x ", 1),
    ],
)
def test_other_bodies_are_left_to_trimesh(raw):
    assert raw.index("end_header") < raw.find("0x") if "0x" in raw else True
    file_obj = io.BytesIO(raw.encode())
    elements, _, _ = ply._parse_header(file_obj)
    before = {name: dict(values) for name, values in elements.items()}
    assert not read_ascii_body(elements, file_obj.read(), ply._load_element_single)
    assert {name: dict(values) for name, values in elements.items()} == before


@pytest.mark.parametrize("faces", [[3] * 14, [3, 4, 3]])
def test_installed_reader_loads_the_same_mesh(tmp_path, faces):
    path = tmp_path / "mesh.ply"
    path.write_text(_ply_text(np.random.default_rng(7), faces_per_row=faces))
    reference_reader = _reference_reader()
    reference = trimesh.load(str(path), force="mesh", process=False)
    assert install()
    assert install()  # idempotent
    assert ply._ply_ascii is not reference_reader
    loaded = trimesh.load(str(path), force="mesh", process=False)
    np.testing.assert_array_equal(loaded.vertices, reference.vertices)
    np.testing.assert_array_equal(loaded.faces, reference.faces)
    np.testing.assert_array_equal(loaded.visual.vertex_colors, reference.visual.vertex_colors)
    np.testing.assert_array_equal(loaded.vertex_normals, reference.vertex_normals)
