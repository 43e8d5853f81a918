"""Renderer backends behind one interface (:class:`simgen.render.base.Renderer`)."""

from simgen.render.base import Renderer, RenderOutput

__all__ = ["RenderOutput", "Renderer", "create_renderer", "single_threaded_blas"]


def single_threaded_blas():
    """Context manager limiting numpy's BLAS to one thread while rendering.

    OpenBLAS worker threads spin after each small matrix product and steal cores from
    llvmpipe's rasterizer threads; on 2 cores this halved end-to-end throughput
    (``scripts/bench_render.py``: 1.47 -> 2.64 images/s with one BLAS thread).
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def create_renderer(name: str, assets) -> Renderer:
    """Create a renderer backend by name (``pyrender``)."""
    if name == "pyrender":
        from simgen.render.pyrender_egl import PyrenderRenderer

        return PyrenderRenderer(assets)
    raise ValueError(f"unknown renderer {name!r}")
