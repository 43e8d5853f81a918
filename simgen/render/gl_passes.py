"""Two extra modes for a pyrender ``Renderer``: colour-only readback and a union (amodal) pass.

* Colour only: pyrender resolves, reads and linearizes the depth buffer after every pass; when
  depth is not wanted (segmentation passes, datasets without depth) only colour is read, and
  only the bytes the pass needs: the instance-id pass reads one byte per pixel (red), the
  union pass four (RGBA, which is one little-endian 32-bit word per pixel).
* Union pass: the segmentation shader draws each object in a flat colour with one bit set,
  with the depth test off and the framebuffer's logic op set to OR, so every pixel ends up
  with the bits of *all* objects whose triangles cover its centre, hidden or not. One pass
  gives the full (amodal) silhouettes of 24 objects (8 bits in each of R, G and B) with the
  same rasterization rule and vertex transforms as the instance-id pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from simgen.render.base import AMODAL_BITS as BITS_PER_PASS


@dataclass
class PassModes:
    """What the next pass of a patched renderer does (set before, reset after each pass)."""

    union: bool = False
    read_depth: bool = True
    read_format: str = "rgb"
    """Colour readback when depth is not read: ``rgb`` ((H, W, 3), or (H, W, 4) for an RGBA
    pass), ``red`` ((H, W) uint8) or ``rgba`` ((H, W, 4) uint8)."""


def install_pass_modes(renderer) -> PassModes:
    """Patch a pyrender ``Renderer`` so that :class:`PassModes` controls its passes."""
    from OpenGL import GL
    from pyrender.constants import RenderFlags

    modes = PassModes()
    configure = renderer._configure_forward_pass_viewport
    read = renderer._read_main_framebuffer

    def configure_forward_pass_viewport(flags):
        configure(flags)
        if modes.union:
            GL.glDisable(GL.GL_DEPTH_TEST)
            GL.glEnable(GL.GL_COLOR_LOGIC_OP)
            GL.glLogicOp(GL.GL_OR)
        else:
            GL.glDisable(GL.GL_COLOR_LOGIC_OP)

    def read_main_framebuffer(scene, flags):
        if modes.read_depth or flags & RenderFlags.DEPTH_ONLY:
            return read(scene, flags)
        width, height = renderer._main_fb_dims
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, renderer._main_fb_ms)
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, renderer._main_fb)
        GL.glBlitFramebuffer(
            0, 0, width, height, 0, 0, width, height, GL.GL_COLOR_BUFFER_BIT, GL.GL_LINEAR
        )
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, renderer._main_fb)
        if modes.read_format == "red":
            shape, fmt = (height, width), GL.GL_RED
        elif modes.read_format == "rgba" or flags & RenderFlags.RGBA:
            shape, fmt = (height, width, 4), GL.GL_RGBA
        else:
            shape, fmt = (height, width, 3), GL.GL_RGB
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        pixels = np.empty(shape, dtype=np.uint8)
        GL.glReadPixels(0, 0, width, height, fmt, GL.GL_UNSIGNED_BYTE, pixels)
        return pixels[::-1], None

    renderer._configure_forward_pass_viewport = configure_forward_pass_viewport
    renderer._read_main_framebuffer = read_main_framebuffer
    return modes


def bit_color(bit: int) -> tuple[int, int, int]:
    """The (R, G, B) bytes of a colour with only ``bit`` (0..23) set."""
    value = 1 << bit
    return value & 255, (value >> 8) & 255, (value >> 16) & 255


def union_pass(offscreen, modes: PassModes, scene, nodes: Sequence) -> list[np.ndarray]:
    """Full silhouettes of ``nodes`` as bit planes.

    Args:
        offscreen: a pyrender ``OffscreenRenderer`` whose renderer has ``modes`` installed.
        modes: its :class:`PassModes`.
        scene: the scene, with its camera set.
        nodes: mesh nodes; node ``k`` is bit ``k % BITS_PER_PASS`` of word
            ``k // BITS_PER_PASS`` (:attr:`RenderOutput.amodal_words`).

    Returns:
        One (H, W) uint32 array per ``BITS_PER_PASS`` (24) nodes.
    """
    from pyrender.constants import RenderFlags

    words = []
    for start in range(0, len(nodes), BITS_PER_PASS):
        colors = {node: bit_color(k) for k, node in enumerate(nodes[start : start + BITS_PER_PASS])}
        modes.union, modes.read_depth, modes.read_format = True, False, "rgba"
        try:
            rgba, _ = offscreen.render(scene, flags=RenderFlags.SEG, seg_node_map=colors)
        finally:
            modes.union, modes.read_depth, modes.read_format = False, True, "rgb"
        # R | G << 8 | B << 16 | A << 24 per pixel; the alpha byte is dropped
        word = np.ascontiguousarray(rgba).view("<u4")[:, :, 0]
        words.append((word & 0xFFFFFF).astype(np.uint32, copy=False))
    return words
