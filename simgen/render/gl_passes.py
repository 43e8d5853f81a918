"""Two extra modes for a pyrender ``Renderer``: colour-only readback and one label pass that
gives both the instance map and every full (amodal) silhouette.

* Colour only: pyrender resolves, reads and linearizes the depth buffer after every pass; when
  depth is not wanted (label passes, datasets without depth) only colour is read, and only the
  bytes the pass needs (the instance map is one byte per pixel: red).
* Label pass: pyrender's segmentation pass draws each node in a flat colour with the depth test
  on, which gives the instance map. Its fragment shader is replaced by :data:`LABEL_FRAG`, which
  also sets the node's bit in an array of 32-bit words (one image layer per 32 labeled nodes)
  with an atomic OR. A shader that writes to an image runs before the depth test, so *every*
  fragment of a node, hidden or not, sets its bit: each bit plane is the node's full silhouette,
  with the same rasterization rule (pixel centres; multisampling is off in segmentation passes)
  and vertex transforms as the instance map. Segmentation passes draw into pyrender's
  single-sample framebuffer: with multisampling off the pixels are the same, and no four-sample
  buffer is written, cleared and resolved.

The code that installs both into pyrender (replacing private methods of its ``Renderer``) is in
:mod:`simgen.render.pyrender_patches` (patches 4 and 8).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from simgen.render.base import AMODAL_BITS

NO_SLOT = 0xFFFF
"""Slot of a node without a silhouette bit (unlabeled: the ground, props, distractors)."""

LABEL_FRAG = """#version 430 core
// simgen: instance id in red, and the node's bit in its full-silhouette word (atomic OR)
uniform vec3 color;  // (instance id, slot & 255, slot >> 8) / 255
layout(r32ui, binding = 0) uniform uimage2DArray silhouettes;
out vec4 frag_color;

void main()
{
    uint slot = uint(round(color.g * 255.0)) + 256u * uint(round(color.b * 255.0));
    if (slot != 65535u) {
        ivec3 word = ivec3(ivec2(gl_FragCoord.xy), int(slot / 32u));
        imageAtomicOr(silhouettes, word, 1u << (slot % 32u));
    }
    frag_color = vec4(color.r, 0.0, 0.0, 1.0);
}
"""
"""Fragment shader of the label pass (replaces pyrender's ``segmentation.frag``)."""


@dataclass
class PassModes:
    """What the next pass of a patched renderer does (set before, reset after each pass; see
    :func:`~simgen.render.pyrender_patches.install_pass_modes`)."""

    read_depth: bool = True
    read_format: str = "rgb"
    """Colour readback when depth is not read: ``rgb`` ((H, W, 3), or (H, W, 4) for an RGBA
    pass), ``red`` ((H, W) uint8) or ``none`` (nothing read, the pass returns ``None``: for
    draws made only to compile their programs)."""
    multisample: bool = True
    """Whether a shaded pass draws into the 4x multisampled framebuffer (then resolved) or
    straight into the single-sample one, one sample per pixel centre, as label passes always
    do."""


def label_color(instance_id: int, slot: int) -> tuple[int, int, int]:
    """The segmentation colour bytes of a node: its instance id (0..255) and its slot
    (0..65534, or :data:`NO_SLOT`), as :data:`LABEL_FRAG` decodes them."""
    return instance_id, slot & 255, slot >> 8


class SilhouetteWords:
    """The image array the label pass ORs silhouette bits into (one per GL context)."""

    def __init__(self) -> None:
        self._texture = None
        self._shape: tuple[int, int, int] | None = None

    def bind_cleared(self, width: int, height: int, layers: int) -> None:
        """Make a zeroed (layers, height, width) r32ui array the label pass's image."""
        from OpenGL import GL

        if self._shape != (layers, height, width):
            self.delete()
            self._texture = GL.glGenTextures(1)
            GL.glBindTexture(GL.GL_TEXTURE_2D_ARRAY, self._texture)
            GL.glTexStorage3D(GL.GL_TEXTURE_2D_ARRAY, 1, GL.GL_R32UI, width, height, layers)
            GL.glBindTexture(GL.GL_TEXTURE_2D_ARRAY, 0)
            self._shape = (layers, height, width)
        GL.glClearTexImage(self._texture, 0, GL.GL_RED_INTEGER, GL.GL_UNSIGNED_INT, None)
        GL.glBindImageTexture(0, self._texture, 0, GL.GL_TRUE, 0, GL.GL_READ_WRITE, GL.GL_R32UI)

    def read(self) -> tuple[np.ndarray, ...]:
        """Every word, each (H, W) uint32 with row 0 at the image's top."""
        from OpenGL import GL

        GL.glMemoryBarrier(GL.GL_TEXTURE_UPDATE_BARRIER_BIT)
        data = np.empty(self._shape, dtype=np.uint32)
        GL.glBindTexture(GL.GL_TEXTURE_2D_ARRAY, self._texture)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        GL.glGetTexImage(GL.GL_TEXTURE_2D_ARRAY, 0, GL.GL_RED_INTEGER, GL.GL_UNSIGNED_INT, data)
        GL.glBindTexture(GL.GL_TEXTURE_2D_ARRAY, 0)
        return tuple(np.ascontiguousarray(word[::-1]) for word in data)

    def delete(self) -> None:
        """Free the texture (in the current context)."""
        from OpenGL import GL

        if self._texture is not None:
            GL.glDeleteTextures([self._texture])
            self._texture, self._shape = None, None


def label_pass(
    offscreen, modes: PassModes, words: SilhouetteWords, scene, ids: dict, labeled: Sequence
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """The instance map and the full silhouettes of ``labeled`` nodes, in one pass.

    Args:
        offscreen: a pyrender ``OffscreenRenderer`` whose renderer has ``modes`` installed and
            whose program cache uses :data:`LABEL_FRAG` for segmentation passes.
        modes: its :class:`PassModes`.
        words: the context's :class:`SilhouetteWords`.
        scene: the scene, with its camera set.
        ids: node -> instance id (0..255; 0 for unlabeled nodes).
        labeled: the nodes with a silhouette; node ``labeled[k]`` gets slot ``k``.

    Returns:
        ``(instance_ids, words)``: (H, W) int32 instance map and one (H, W) uint32 word per
        :data:`~simgen.render.base.AMODAL_BITS` labeled nodes (slot ``k`` is bit
        ``k % AMODAL_BITS`` of word ``k // AMODAL_BITS``).
    """
    from pyrender.constants import RenderFlags

    if len(labeled) >= NO_SLOT:
        raise ValueError(f"at most {NO_SLOT - 1} labeled objects per scene")
    slots = {node: k for k, node in enumerate(labeled)}
    colors = {node: label_color(value, slots.get(node, NO_SLOT)) for node, value in ids.items()}
    layers = max(1, -(-len(labeled) // AMODAL_BITS))
    width, height = offscreen.viewport_width, offscreen.viewport_height
    words.bind_cleared(width, height, layers)
    modes.read_depth, modes.read_format = False, "red"
    try:
        seg, _ = offscreen.render(scene, flags=RenderFlags.SEG, seg_node_map=colors)
    finally:
        modes.read_depth, modes.read_format = True, "rgb"
    return seg.astype(np.int32), words.read()
