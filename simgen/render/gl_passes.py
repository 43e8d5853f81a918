"""Extra modes for a pyrender ``Renderer``: colour-only readback, one label pass that gives both
the instance map and every full (amodal) silhouette, and those labels drawn by the shaded pass.

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
* Labels in the shaded pass: a single-sampled view (``image.antialias: false``) needs no label
  pass. Its shaded pass draws with :func:`add_label_outputs` programs, which also write the
  instance id to a second colour attachment (:class:`InstanceTarget`) and set the silhouette
  bits. Same primitives, vertex transforms, culling (back faces, but for double-sided meshes:
  only the background dome, id 0, behind everything) and depth test as the label pass, so the
  same instance map and bits (tested against the two-pass path); each mesh's vertices are
  transformed and its triangles set up once per view instead of twice. The cost: fragments
  that write to an image are shaded before the depth test, so hidden surfaces are shaded too.
  Only nodes with a silhouette bit pay it: the others (the ground, unlabeled clutter) draw with
  programs that write to no image (``add_label_outputs(text, bits=False)``), and opaque nodes
  are drawn nearest first (:func:`draw_distance`), so the depth test rejects most of their
  hidden fragments before shading.

The code that installs these into pyrender (replacing private methods of its ``Renderer``) is in
:mod:`simgen.render.pyrender_patches` (patches 4, 8, 9 and 10).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from simgen.render.base import AMODAL_BITS

NO_SLOT = 0xFFFF
"""Slot of a node without a silhouette bit (unlabeled: the ground, props, distractors)."""

SILHOUETTE_BIT = """
layout(r32ui, binding = 0) uniform uimage2DArray silhouettes;

// Set a node's bit in its full-silhouette word: its label colour is (instance id, slot & 255,
// slot >> 8) / 255, slot 65535 for a node without a bit.
void set_silhouette_bit(vec3 label)
{
    uint slot = uint(round(label.g * 255.0)) + 256u * uint(round(label.b * 255.0));
    if (slot != 65535u) {
        ivec3 word = ivec3(ivec2(gl_FragCoord.xy), int(slot / 32u));
        imageAtomicOr(silhouettes, word, 1u << (slot % 32u));
    }
}
"""
"""GLSL (4.3) declaration of the silhouette words and the function that sets a node's bit."""

LABEL_FRAG = (
    """#version 430 core
// simgen: instance id in red, and the node's bit in its full-silhouette word (atomic OR)
uniform vec3 color;  // (instance id, slot & 255, slot >> 8) / 255
out vec4 frag_color;
"""
    + SILHOUETTE_BIT
    + """
void main()
{
    set_silhouette_bit(color);
    frag_color = vec4(color.r, 0.0, 0.0, 1.0);
}
"""
)
"""Fragment shader of the label pass (replaces pyrender's ``segmentation.frag``)."""

SHADED_LABELS_DEFINE = "SIMGEN_SHADED_LABELS"
"""Define (in a program's key) of the shaded programs that also write the label pass's
outputs (:func:`add_label_outputs`)."""

MESH_VERSION = "#version 330 core"
MESH_OUTPUT = "out vec4 frag_color;"
MESH_MAIN = "void main()"


def add_label_outputs(text: str, bits: bool = True) -> str:
    """A shaded fragment shader (pyrender's ``mesh.frag``) that also writes what
    :data:`LABEL_FRAG` writes: the instance id (red of output 1, alpha 1 so that blending
    leaves it whole) and, with ``bits``, the node's bit in its silhouette word, from the uniform
    ``simgen_label`` (the node's label colour). Its ``main`` becomes ``shade``, called after.

    Without ``bits`` (for nodes that have no silhouette bit) the shader writes to no image, so
    the depth test may reject a hidden fragment before it is shaded.

    The bits are set by every fragment, hidden or not, as in the label pass, so drawn in the
    single-sample framebuffer with the same primitives and vertex transforms, one geometry
    pass gives the image, the instance map and the full silhouettes (see the module's note on
    double-sided meshes).

    Raises:
        RuntimeError: the source lacks the version, output or ``main`` it replaces.
    """
    missing = [part for part in (MESH_VERSION, MESH_OUTPUT, MESH_MAIN) if part not in text]
    if missing:
        raise RuntimeError(
            f"pyrender's mesh.frag lacks {missing[0]!r}, which simgen patches; simgen expects "
            "pyrender==0.1.45"
        )
    outputs = (
        "layout(location = 0) out vec4 frag_color;\n"
        "layout(location = 1) out vec4 simgen_label_id;  // simgen: the instance map\n"
        "uniform vec3 simgen_label;  // (instance id, slot & 255, slot >> 8) / 255\n"
        + (SILHOUETTE_BIT if bits else "")
    )
    text = text.replace(MESH_VERSION, "#version 430 core", 1).replace(MESH_OUTPUT, outputs, 1)
    text = text.replace(MESH_MAIN, "void shade()", 1)
    set_bit = "set_silhouette_bit(simgen_label);" if bits else "// no silhouette bit"
    return (
        text
        + "\nvoid main()\n{\n    "
        + set_bit
        + """
    simgen_label_id = vec4(simgen_label.r, 0.0, 0.0, 1.0);
    shade();
}
"""
    )


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
    shaded_labels: dict | None = None
    """node -> label colour bytes (:func:`slot_colors`) when the next shaded pass
    (single-sample only) also writes the instance map and the silhouette bits of the label
    pass; ``None``: it does not."""
    label_ids: np.ndarray | None = None
    """The (H, W) uint8 instance map that such a pass read (row 0 at the image's top)."""
    nearest_first: bool = True
    """Whether every pass draws its opaque nodes in :func:`draw_distance` order (pyrender's
    own order, farthest centre first, otherwise)."""


def draw_distance(bounds: np.ndarray, pose: np.ndarray, eye: np.ndarray) -> float:
    """Distance from ``eye`` (3,) to the far side of a mesh's bounding sphere: the (2, 3)
    local axis-aligned ``bounds``, placed by the (4, 4) ``pose``; metres.

    Drawing opaque meshes in increasing order of this distance draws what is in front first
    (a small object before the large ground it stands on), so that the depth test can reject a
    hidden fragment before it is shaded. Equal depths aside (the first mesh drawn keeps the
    pixel), the order changes no pixel.
    """
    centre, radius = bounding_sphere(bounds, pose)
    return float(np.linalg.norm(centre - eye)) + radius


_SPHERES: dict[bytes, tuple[np.ndarray, float]] = {}
MAX_CACHED_SPHERES = 4096
"""Bounding spheres :func:`bounding_sphere` keeps (the meshes of a few scenes' views)."""


def bounding_sphere(bounds: np.ndarray, pose: np.ndarray) -> tuple[np.ndarray, float]:
    """The centre (3,) float64 and radius (metres) of the sphere around the corners of the
    (2, 3) local ``bounds`` placed by the (4, 4) ``pose``: the corners' mean and their largest
    distance from it. Remembered by value (a scene's meshes keep their poses while its views
    are drawn, and every pass of a view sorts them again)."""
    bounds = np.asarray(bounds, dtype=np.float64)
    pose = np.asarray(pose, dtype=np.float64)
    key = bounds.tobytes() + pose.tobytes()
    found = _SPHERES.get(key)
    if found is None:
        corners = np.stack(np.meshgrid(*bounds.T), axis=-1)
        corners = corners.reshape(-1, 3) @ pose[:3, :3].T + pose[:3, 3]
        centre = corners.mean(axis=0)
        radius = float(np.linalg.norm(corners - centre, axis=1).max())
        if len(_SPHERES) >= MAX_CACHED_SPHERES:
            _SPHERES.clear()
        found = _SPHERES[key] = (centre, radius)
    return found


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


class InstanceTarget:
    """The second colour attachment a shaded pass with label outputs writes the instance map
    to: an R8 texture (one per GL context), attached to pyrender's single-sample framebuffer
    for that pass only."""

    def __init__(self) -> None:
        self._texture = None
        self._shape: tuple[int, int] | None = None

    def attach(self, width: int, height: int) -> None:
        """Attach a zeroed (height, width) R8 texture to the bound draw framebuffer as colour
        attachment 1 and draw to both attachments; writes to it stay masked until
        :meth:`unmask` (pyrender clears the colour buffers with the scene's background colour
        after this)."""
        from OpenGL import GL

        if self._shape != (height, width):
            self.delete()
            self._texture = GL.glGenTextures(1)
            GL.glBindTexture(GL.GL_TEXTURE_2D, self._texture)
            GL.glTexStorage2D(GL.GL_TEXTURE_2D, 1, GL.GL_R8, width, height)
            GL.glBindTexture(GL.GL_TEXTURE_2D, 0)
            self._shape = (height, width)
        GL.glClearTexImage(self._texture, 0, GL.GL_RED, GL.GL_UNSIGNED_BYTE, None)
        GL.glFramebufferTexture2D(
            GL.GL_DRAW_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT1, GL.GL_TEXTURE_2D, self._texture, 0
        )
        GL.glDrawBuffers(2, [GL.GL_COLOR_ATTACHMENT0, GL.GL_COLOR_ATTACHMENT1])
        GL.glColorMaski(1, GL.GL_FALSE, GL.GL_FALSE, GL.GL_FALSE, GL.GL_FALSE)

    @staticmethod
    def unmask() -> None:
        """Let draws write the instance map (after the pass's clear)."""
        from OpenGL import GL

        GL.glColorMaski(1, GL.GL_TRUE, GL.GL_TRUE, GL.GL_TRUE, GL.GL_TRUE)

    def read(self) -> np.ndarray:
        """The (H, W) uint8 instance map, row 0 at the image's top (from the bound read
        framebuffer)."""
        from OpenGL import GL

        height, width = self._shape
        pixels = np.empty((height, width), dtype=np.uint8)
        GL.glReadBuffer(GL.GL_COLOR_ATTACHMENT1)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        GL.glReadPixels(0, 0, width, height, GL.GL_RED, GL.GL_UNSIGNED_BYTE, pixels)
        GL.glReadBuffer(GL.GL_COLOR_ATTACHMENT0)
        return pixels[::-1]

    @staticmethod
    def detach() -> None:
        """Draw to colour attachment 0 only again, as every other pass does; the texture is
        detached from the bound draw framebuffer."""
        from OpenGL import GL

        GL.glColorMaski(1, GL.GL_TRUE, GL.GL_TRUE, GL.GL_TRUE, GL.GL_TRUE)
        GL.glDrawBuffers(1, [GL.GL_COLOR_ATTACHMENT0])
        GL.glFramebufferTexture2D(
            GL.GL_DRAW_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT1, GL.GL_TEXTURE_2D, 0, 0
        )

    def delete(self) -> None:
        """Free the texture (in the current context)."""
        from OpenGL import GL

        if self._texture is not None:
            GL.glDeleteTextures([self._texture])
            self._texture, self._shape = None, None


def slot_colors(ids: dict, labeled: Sequence) -> dict:
    """node -> label colour bytes (:func:`label_color`) of every node of ``ids`` (node ->
    instance id, 0..255), where ``labeled[k]`` gets slot ``k`` and any other node
    :data:`NO_SLOT`.

    Raises:
        ValueError: ``labeled`` has :data:`NO_SLOT` nodes or more.
    """
    if len(labeled) >= NO_SLOT:
        raise ValueError(f"at most {NO_SLOT - 1} labeled objects per scene")
    slots = {node: k for k, node in enumerate(labeled)}
    return {node: label_color(value, slots.get(node, NO_SLOT)) for node, value in ids.items()}


def bind_words(offscreen, words: SilhouetteWords, labeled: int) -> None:
    """Bind ``words`` cleared, with a layer per :data:`~simgen.render.base.AMODAL_BITS` of
    ``labeled`` nodes, at the ``OffscreenRenderer``'s size."""
    layers = max(1, -(-labeled // AMODAL_BITS))
    words.bind_cleared(offscreen.viewport_width, offscreen.viewport_height, layers)


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

    colors = slot_colors(ids, labeled)
    bind_words(offscreen, words, len(labeled))
    modes.read_depth, modes.read_format = False, "red"
    try:
        seg, _ = offscreen.render(scene, flags=RenderFlags.SEG, seg_node_map=colors)
    finally:
        modes.read_depth, modes.read_format = True, "rgb"
    return seg.astype(np.int32), words.read()
