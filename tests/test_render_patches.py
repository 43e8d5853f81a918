"""The pyrender patches: checked against the pinned versions before any is applied (a clear
one-line error, or a warning with the override), installed lazily, and a ``Renderer`` protocol
that every backend implements in full."""

from __future__ import annotations

import inspect
import logging
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import simgen.render
from simgen.cli import main
from simgen.config import load_config
from simgen.errors import SimgenError
from simgen.randomize.lighting import reachable_light_counts
from simgen.render import RENDERERS, check_renderer, create_renderer, renderer_class
from simgen.render import pyrender_patches as patches
from simgen.render.base import Renderer

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = "pyrender==0.1.45 PyOpenGL==3.1.0"


def _installed(pyrender: str | None, pyopengl: str | None):
    return lambda name: {"pyrender": pyrender, "PyOpenGL": pyopengl}[name]


def test_pins_are_the_project_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = dict(d.split("==") for d in project["dependencies"] if "==" in d)
    assert {name: pins[name] for name in patches.PINNED} == patches.PINNED
    assert patches.PINNED == {"pyrender": "0.1.45", "PyOpenGL": "3.1.0"}


def test_pinned_versions_pass_silently(monkeypatch, caplog):
    monkeypatch.delenv(patches.ALLOW_UNPINNED_ENV, raising=False)
    monkeypatch.setattr(patches, "installed_version", _installed("0.1.45", "3.1.0"))
    with caplog.at_level(logging.WARNING):
        patches.check_versions()
    assert caplog.records == []


@pytest.mark.parametrize(
    ("pyrender", "pyopengl", "installed"),
    [
        ("0.1.44", "3.1.0", "pyrender 0.1.44, PyOpenGL 3.1.0"),
        ("0.1.45", "3.1.9", "pyrender 0.1.45, PyOpenGL 3.1.9"),
        ("0.2.0", "3.1.7", "pyrender 0.2.0, PyOpenGL 3.1.7"),
        (None, "3.1.0", "pyrender not installed, PyOpenGL 3.1.0"),
    ],
)
@pytest.mark.parametrize("env", [None, "", "0"])
def test_other_versions_fail_with_a_clear_message(monkeypatch, pyrender, pyopengl, installed, env):
    if env is None:
        monkeypatch.delenv(patches.ALLOW_UNPINNED_ENV, raising=False)
    else:
        monkeypatch.setenv(patches.ALLOW_UNPINNED_ENV, env)
    monkeypatch.setattr(patches, "installed_version", _installed(pyrender, pyopengl))
    with pytest.raises(patches.UnpinnedGLError) as caught:
        patches.check_versions()
    message = str(caught.value)
    assert isinstance(caught.value, SimgenError) and isinstance(caught.value, RuntimeError)
    assert "\n" not in message
    assert f"installed: {installed}." in message
    assert f"Fix: pip install {EXPECTED} " in message
    assert "SIMGEN_ALLOW_UNPINNED_GL=1" in message


@pytest.mark.parametrize("env", ["1", "yes"])
def test_the_override_turns_the_error_into_a_warning(monkeypatch, caplog, env):
    monkeypatch.setenv("SIMGEN_ALLOW_UNPINNED_GL", env)
    monkeypatch.setattr(patches, "installed_version", _installed("0.1.45", "3.1.9"))
    with caplog.at_level(logging.WARNING, logger=patches.__name__):
        patches.check_versions()
    [record] = caplog.records
    assert record.levelno == logging.WARNING and record.name == "simgen.render.pyrender_patches"
    text = record.getMessage()
    assert "unpinned versions" in text and "PyOpenGL 3.1.9" in text and EXPECTED in text


def test_create_renderer_raises_before_importing_pyrender(monkeypatch):
    monkeypatch.delenv(patches.ALLOW_UNPINNED_ENV, raising=False)
    monkeypatch.setattr(patches, "installed_version", _installed("0.1.46", "3.1.0"))
    monkeypatch.setattr(patches, "_checked", False)
    with pytest.raises(patches.UnpinnedGLError, match=r"installed: pyrender 0\.1\.46,"):
        create_renderer("pyrender", [])


@pytest.mark.parametrize("options", [["--workers", "1"], ["--workers", "2"], ["--dry-run"]])
def test_the_cli_prints_a_version_mismatch_as_one_line(monkeypatch, tmp_path, capsys, options):
    # Checked in the calling process before anything is written or any worker starts.
    monkeypatch.delenv(patches.ALLOW_UNPINNED_ENV, raising=False)
    monkeypatch.setattr(patches, "installed_version", _installed("0.1.45", "3.1.9"))
    monkeypatch.setattr(patches, "_checked", False)
    out = tmp_path / "out"
    sets = ["image.width=64", "image.height=48", "placement.mode=upright"]
    args = ["render", "--out", str(out), "--num", "1", "--quiet", *options]
    assert main([*args, *(a for s in sets for a in ("--set", s))]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("simgen: error: ") and "PyOpenGL 3.1.9" in err and EXPECTED in err
    assert not out.exists()


LAZY = """
import sys
import simgen, simgen.render, simgen.render.pyrender_egl, simgen.produce.workers
import simgen.render.pyrender_patches as patches

def loaded():
    return sorted({m.split(".")[0] for m in sys.modules} & {"pyrender", "OpenGL"})

assert loaded() == [], loaded()
real = patches.installed_version
patches.installed_version = lambda name: "0.0.1"
try:
    patches.import_pyrender()
except patches.UnpinnedGLError:
    pass
else:
    raise AssertionError("no error")
assert loaded() == [], loaded()
patches.installed_version = real
patches.import_pyrender()
assert loaded() == ["OpenGL", "pyrender"], loaded()
print("ok")
"""


def test_pyrender_is_imported_only_when_the_patches_are_installed():
    env = {**os.environ, "PYOPENGL_PLATFORM": "egl"}
    env.pop(patches.ALLOW_UNPINNED_ENV, None)
    done = subprocess.run(
        [sys.executable, "-c", LAZY], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def _protocol_members() -> dict[str, inspect.Signature]:
    """Name -> signature of every method the :class:`Renderer` protocol declares."""
    return {
        name: inspect.signature(value)
        for name, value in vars(Renderer).items()
        if inspect.isfunction(value) and value.__module__ == Renderer.__module__
    }


def _parameters(signature: inspect.Signature) -> list[tuple]:
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


def test_the_protocol_lists_what_production_code_calls():
    assert set(_protocol_members()) == {"render", "warm_shaders", "close", "__enter__", "__exit__"}


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_every_backend_implements_the_whole_protocol(name):
    cls = renderer_class(name)
    for member, signature in _protocol_members().items():
        implementation = getattr(cls, member, None)
        assert inspect.isfunction(implementation), f"{cls.__name__} lacks {member}"
        assert implementation.__doc__, f"{cls.__name__}.{member} has no docstring"
        assert _parameters(inspect.signature(implementation)) == _parameters(signature), member


@pytest.mark.parametrize("call", [renderer_class, check_renderer])
def test_unknown_backends_are_refused(call):
    with pytest.raises(ValueError, match="unknown renderer 'blender'"):
        call("blender")


class _RecordingRenderer:
    """A renderer double that records the light counts it was asked to warm."""

    def __init__(self) -> None:
        self.warmed: list = []
        self.closed = False

    def warm_shaders(self, light_counts) -> None:
        self.warmed.append(list(light_counts))

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("warm", [True, False])
def test_the_scene_producer_asks_its_renderer_to_warm_its_shaders(monkeypatch, warm):
    from simgen.produce.workers import SceneProducer

    double = _RecordingRenderer()
    monkeypatch.setattr(simgen.render, "create_renderer", lambda name, assets: double)
    config = load_config(overrides=["placement.mode=upright", "lights.count=[1, 2]"])
    producer = SceneProducer(config, [], warm_shaders=warm)
    assert producer.renderer is double
    expected = [list(reachable_light_counts(config.lights))] if warm else []
    assert double.warmed == expected and (not warm or len(expected[0]) > 1)
    producer.close()
    assert double.closed


def test_pyrender_warm_shaders_sets_the_counts_it_compiles():
    from simgen.render.pyrender_egl import PyrenderRenderer

    renderer = PyrenderRenderer([])  # no GL context until the first render
    assert renderer.warm_light_counts == ()
    renderer.warm_shaders([(1, 0, 0), (0, 1, 1)])
    assert renderer.warm_light_counts == ((1, 0, 0), (0, 1, 1))
    renderer.warm_shaders([])
    assert renderer.warm_light_counts == ()
    renderer.close()
