"""Renderer backends behind one interface (:class:`simgen.render.base.Renderer`)."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from simgen.render.base import Renderer, RenderOutput

__all__ = [
    "RENDERERS",
    "RenderOutput",
    "Renderer",
    "check_renderer",
    "create_renderer",
    "renderer_class",
    "single_threaded_blas",
]

RENDERERS = {"pyrender": "simgen.render.pyrender_egl:PyrenderRenderer"}
"""Backend name -> ``module:Class`` implementing :class:`~simgen.render.base.Renderer`
(imported only when that backend is created)."""


def single_threaded_blas():
    """Context manager limiting numpy's BLAS to one thread while rendering.

    OpenBLAS worker threads spin after each small matrix product and steal cores from
    llvmpipe's rasterizer threads; on 2 cores this roughly halved end-to-end throughput
    (docs/benchmarks.md, "Figures behind defaults").
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def renderer_class(name: str) -> type:
    """The class of backend ``name`` (a key of :data:`RENDERERS`), imported now.

    Raises:
        ValueError: an unknown name.
    """
    if name not in RENDERERS:
        raise ValueError(f"unknown renderer {name!r}")
    module, _, attribute = RENDERERS[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


def check_renderer(name: str) -> None:
    """Fail now, without importing the backend, when backend ``name`` cannot run here (for a
    run's checks before it writes anything or starts workers).

    Raises:
        ValueError: an unknown name.
        simgen.render.pyrender_patches.UnpinnedGLError: pyrender or PyOpenGL is not the
            pinned version (pyrender backend).
    """
    if name not in RENDERERS:
        raise ValueError(f"unknown renderer {name!r}")
    if name == "pyrender":
        from simgen.render.pyrender_patches import ensure_versions

        ensure_versions()


def create_renderer(name: str, assets: Sequence) -> Renderer:
    """Create a renderer backend by name (a key of :data:`RENDERERS`) for the catalog
    ``assets`` (a sequence of :class:`~simgen.assets.Asset`).

    Raises:
        ValueError: an unknown name.
        simgen.render.pyrender_patches.UnpinnedGLError: pyrender or PyOpenGL is not the
            pinned version (pyrender backend).
    """
    return renderer_class(name)(assets)
