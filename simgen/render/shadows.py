"""Shadow mapping for the pyrender backend: fitted light frusta, cheap filtering, one map per scene.

pyrender's defaults suit a viewer, not a CPU batch renderer:

* each shadow map covers the whole scene's bounding box (a 2 m ground slab, or a 20 m
  background dome), so a 2048² map spends 3 mm to 3 cm per texel on a 10 cm object;
* every lit fragment takes 36 depth comparisons per shadowed light (a 3×3 grid of bilinear
  lookups), which on Mesa's llvmpipe cost more than the rest of the shaded pass;
* the maps are re-rendered for every view, although they depend on the lights and objects only.

Here each light's shadow camera is fitted to the shadow *casters* (objects and props; the ground
and the dome receive shadows but never cast them), the fragment shader takes one bilinear
lookup (4 comparisons: smooth edges at the finer texel size), fragments outside a light's map
are lit, and each map is rendered once per scene and reused by all its views.

The same patch gives the shader light loops of constant length (one program per light counts),
so that llvmpipe indexes the shadow samplers with constants.

This module holds the pure parts (the shader text, the frustum fits, the state the patched
passes follow); the code that installs them into pyrender is in
:mod:`simgen.render.pyrender_patches` (patches 4 to 7).
"""

from __future__ import annotations

import numpy as np

from simgen.render.colour import PYRENDER_OUTPUT, SRGB_OUTPUT

PCF_CALL = "float shadow = PCF(shadow_map, textureSize(shadow_map, 0), light_coords.xy, compare);"
"""The shadow lookup in pyrender 0.1.45's ``mesh.frag`` that :func:`patch_mesh_shader` replaces."""

BILINEAR_CALL = """float shadow = texture2DShadowLerp(
        shadow_map, textureSize(shadow_map, 0), light_coords.xy, compare);
    if (any(lessThan(light_coords.xy, vec2(0.0))) || any(greaterThan(light_coords.xy, vec2(1.0)))) {
        shadow = 0.0;
    }"""

MARGIN = 1.05
"""Fitted frusta are this much wider than the casters' extent (filtering needs a border)."""


LIGHT_LOOPS = ("i < n_directional_lights", "i < n_spot_lights", "i < n_point_lights")
"""The light loops' bounds in ``mesh.frag`` (uniforms) that :func:`patch_mesh_shader` makes
constants."""

LIGHT_COUNTS_DEFINE = "SIMGEN_LIGHT_COUNTS"
"""Program define holding the light counts as ``"directional,spot,point"``."""

MAX_SPECIALIZED_PROGRAMS = 128
"""Programs compiled per light counts that a cache keeps; beyond it the least recently used is
deleted. Each holds several MiB of llvmpipe machine code; the bound keeps scenes with many
lights from filling memory. The default scene (up to 4 lights of 3 kinds: 34 light counts)
draws with three kinds of program (objects with and without a texture, and the ground, which
has no silhouette bit): 102 programs, all compiled by the warm-up."""


def patch_mesh_shader(text: str, light_counts: tuple[int, int, int] | None = None) -> str:
    """``mesh.frag`` source with one bilinear shadow lookup instead of a 3×3 PCF grid, the
    exact sRGB output encoding of :mod:`simgen.render.colour` instead of a 2.2 power, and,
    given ``light_counts`` (directional, spot, point), light loops of constant length.

    pyrender loops over uniform light counts and indexes arrays of shadow samplers with the
    loop variable; with constant counts the compiler unrolls the loops and every sampler
    index is a constant, which llvmpipe runs markedly faster (docs/benchmarks.md). The loop
    change leaves the arithmetic unchanged (the pixels are identical with and without it).

    Raises:
        RuntimeError: the source does not contain the expected lookup or loops (another
            pyrender).
    """
    missing = [part for part in (PCF_CALL, PYRENDER_OUTPUT, *LIGHT_LOOPS) if part not in text]
    if missing:
        raise RuntimeError(
            f"pyrender's mesh.frag lacks {missing[0]!r}, which simgen patches; simgen expects "
            "pyrender==0.1.45"
        )
    text = text.replace(PCF_CALL, BILINEAR_CALL)
    text = text.replace(PYRENDER_OUTPUT, SRGB_OUTPUT)
    if light_counts is not None:
        for loop, count in zip(LIGHT_LOOPS, light_counts, strict=True):
            text = text.replace(loop, f"{loop.split(' <')[0]} < {int(count)}")
    return text


def caster_corners(scene, casters) -> np.ndarray:
    """(8·N, 3) float64 world corners of the casters' local bounding boxes."""
    corners = []
    for node in casters:
        (x0, y0, z0), (x1, y1, z1) = node.mesh.bounds
        local = np.array([[x, y, z] for x in (x0, x1) for y in (y0, y1) for z in (z0, z1)])
        pose = scene.get_pose(node)
        corners.append(local @ pose[:3, :3].T + pose[:3, 3])
    return np.concatenate(corners) if corners else np.zeros((0, 3))


def directional_extent(corners: np.ndarray, rotation: np.ndarray, centre: np.ndarray) -> float:
    """Half-width of an orthographic view along ``rotation``'s -z, centred on ``centre``, that
    holds every corner (times :data:`MARGIN`).

    Args:
        corners: (N, 3) float64 world points.
        rotation: (3, 3) light-to-world rotation (the light shines along its local -z).
        centre: (3,) the point the view is centred on.
    """
    local = (corners - centre) @ rotation
    return float(np.abs(local[:, :2]).max()) * MARGIN


def spot_fov(corners: np.ndarray, pose: np.ndarray, limit: float) -> float | None:
    """Full field of view (radians) of a square perspective view from a light that holds every
    corner, or ``None`` when a corner is not in front of the light; capped at ``limit``.

    Args:
        corners: (N, 3) float64 world points.
        pose: (4, 4) light-to-world pose (the light looks along its local -z).
        limit: the widest field of view allowed (pyrender's default for the cone).
    """
    local = (corners - pose[:3, 3]) @ pose[:3, :3]
    ahead = -local[:, 2]
    if ahead.min() <= 1e-3:
        return None
    tangent = float((np.abs(local[:, :2]).max(axis=1) / ahead).max()) * MARGIN
    return min(2.0 * float(np.arctan(tangent)), limit)


def fit_shadow_cameras(scene, casters) -> None:
    """Fit every fitted light's shadow camera in ``scene`` to the ``casters`` (mesh nodes):
    the lights of :func:`~simgen.render.pyrender_patches.light_classes`, which have a
    ``shadow_extent`` (directional) or ``shadow_fov`` (spot); others keep pyrender's."""
    corners = caster_corners(scene, casters)
    if len(corners) == 0:
        return
    for node in scene.light_nodes:
        light = node.light
        pose = scene.get_pose(node)
        if hasattr(light, "shadow_extent"):
            light.shadow_extent = directional_extent(corners, pose[:3, :3], scene.centroid)
        elif hasattr(light, "shadow_fov"):
            limit = float(np.clip(2 * light.outerConeAngle + np.pi / 16.0, 0.0, np.pi))
            light.shadow_fov = spot_fov(corners, pose, limit)


class ShadowReuse:
    """What :func:`~simgen.render.pyrender_patches.install_shadow_reuse` remembers: the scene
    whose maps are drawn, and the lights done. ``skip`` draws no map at all (compiling
    programs, whose output is thrown away); :meth:`forget` makes the next pass draw every map
    again. ``drawing`` is true while a map is drawn (the nearest-first order is not needed
    there)."""

    def __init__(self) -> None:
        self.scene = None
        self.done: set = set()
        self.skip = False
        self.drawing = False

    def forget(self) -> None:
        """Draw every map again on the next pass (another scene was drawn in between)."""
        self.scene = None
        self.done = set()


class ShadowMapPool:
    """Shadow-map textures kept in one GL context and lent to each scene's lights.

    pyrender gives every light object its own 2048² depth texture and deletes it once the light
    is gone, so each new scene allocated (and faulted in) 16 MiB per shadowed light. A
    scene's shadow maps are drawn before its first view reads them
    (:func:`~simgen.render.pyrender_patches.install_shadow_reuse` keys them on the scene), so
    every scene can use the same textures: :meth:`lend` hands out the first ``count``
    (creating more when needed), which the previous scene's lights were using.

    Args:
        texture_class: the texture type to allocate, with ``free()`` deleting a texture
            (:func:`~simgen.render.pyrender_patches.pooled_texture_class`).
    """

    def __init__(self, texture_class: type) -> None:
        from pyrender.constants import SHADOW_TEX_SZ

        self._make = texture_class
        self._size = SHADOW_TEX_SZ
        self._textures: list = []

    @property
    def size(self) -> int:
        """Textures allocated (the most that one scene's lights have needed)."""
        return len(self._textures)

    def lend(self, count: int) -> list:
        """``count`` distinct textures for the lights of the scene about to be drawn."""
        from OpenGL.GL import GL_FLOAT

        while len(self._textures) < count:
            size = self._size
            self._textures.append(
                self._make(width=size, height=size, source_channels="D", data_format=GL_FLOAT)
            )
        return self._textures[:count]

    def free(self) -> None:
        """Delete every texture (in the current context)."""
        for texture in self._textures:
            texture.free()
        self._textures = []
