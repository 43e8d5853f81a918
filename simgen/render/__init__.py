"""Renderer backends behind one interface (:class:`simgen.render.base.Renderer`)."""

from simgen.render.base import Renderer, RenderOutput

__all__ = ["RenderOutput", "Renderer", "create_renderer"]


def create_renderer(name: str, assets) -> Renderer:
    """Create a renderer backend by name (``pyrender``)."""
    if name == "pyrender":
        from simgen.render.pyrender_egl import PyrenderRenderer

        return PyrenderRenderer(assets)
    raise ValueError(f"unknown renderer {name!r}")
