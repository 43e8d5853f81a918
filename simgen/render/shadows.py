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
"""

from __future__ import annotations

import functools

import numpy as np

from simgen.render.colour import PYRENDER_OUTPUT, SRGB_OUTPUT
from simgen.render.gl_passes import LABEL_FRAG

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

MAX_SPECIALIZED_PROGRAMS = 96
"""Programs compiled per light counts that a cache keeps; beyond it the least recently used is
deleted. Each holds several MiB of llvmpipe machine code (a worker on the default scene, which
uses up to 4 lights of 3 kinds, compiled 72 programs in 10,000 images and then stopped
growing); the bound keeps scenes with many lights from filling memory."""


def patch_mesh_shader(text: str, light_counts: tuple[int, int, int] | None = None) -> str:
    """``mesh.frag`` source with one bilinear shadow lookup instead of a 3×3 PCF grid, the
    exact sRGB output encoding of :mod:`simgen.render.colour` instead of a 2.2 power, and,
    given ``light_counts`` (directional, spot, point), light loops of constant length.

    pyrender loops over uniform light counts and indexes arrays of shadow samplers with the
    loop variable; with constant counts the compiler unrolls the loops and every sampler
    index is a constant, which llvmpipe runs about 1.8× faster. The loop change leaves the
    arithmetic unchanged (the pixels are identical with and without it).

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


@functools.cache
def shader_cache_class(pyrender):
    """A ``ShaderProgramCache`` whose ``mesh.frag`` programs use :func:`patch_mesh_shader` and
    whose segmentation programs use :data:`simgen.render.gl_passes.LABEL_FRAG`.

    Set the cache's ``light_counts`` (directional, spot, point lights bound by pyrender) before
    a shaded pass: programs are then compiled, and cached, per light counts (``None``:
    pyrender's loops over uniform counts).
    """
    from pyrender.shader_program import ShaderProgram, ShaderProgramCache

    class PatchedProgram(ShaderProgram):
        def _load(self, shader_filename):
            if shader_filename.endswith("segmentation.frag"):
                return LABEL_FRAG
            text = super()._load(shader_filename)
            if shader_filename.endswith("mesh.frag"):
                counts = self.defines.get(LIGHT_COUNTS_DEFINE)
                counts = None if counts is None else tuple(int(c) for c in counts.split(","))
                text = patch_mesh_shader(text, counts)
            return text

    class PatchedProgramCache(ShaderProgramCache):
        light_counts: tuple[int, int, int] | None = None
        max_specialized: int = MAX_SPECIALIZED_PROGRAMS

        def __init__(self, shader_dir=None):
            super().__init__(shader_dir)
            self._recent: dict[int, object] = {}  # id -> specialized program, oldest first
            # The shaders and defines (light counts aside) of every specialized program
            # compiled: one per kind of material drawn.
            self.materials: set[tuple] = set()

        def get_program(self, vertex_shader, fragment_shader, geometry_shader=None, defines=None):
            specialized = fragment_shader == "mesh.frag" and self.light_counts is not None
            material = defines or {}
            if specialized:
                counts = ",".join(str(int(c)) for c in self.light_counts)
                defines = {**material, LIGHT_COUNTS_DEFINE: counts}
            program = super().get_program(vertex_shader, fragment_shader, geometry_shader, defines)
            patched = fragment_shader in ("mesh.frag", "segmentation.frag")
            if patched and program._program_id is None:  # new: not compiled yet
                program.__class__ = PatchedProgram
                if specialized:
                    names = sorted((name, str(value)) for name, value in material.items())
                    self.materials.add((vertex_shader, fragment_shader, geometry_shader, *names))
            if specialized:
                self._touch(program)
            return program

        def _touch(self, program) -> None:
            """Mark ``program`` most recently used; delete the least recently used specialized
            program beyond ``max_specialized`` (never one used in the current pass: a pass
            draws far fewer primitives)."""
            recent = self._recent
            recent.pop(id(program), None)
            recent[id(program)] = program
            while len(recent) > self.max_specialized:
                oldest = recent.pop(next(iter(recent)))
                for key in [k for k, v in self._program_cache.items() if v is oldest]:
                    del self._program_cache[key]
                oldest.delete()

    return PatchedProgramCache


@functools.cache
def light_classes(pyrender):
    """pyrender directional and spot lights whose shadow camera is fitted to the casters.

    ``shadow_extent`` (directional: half-width in metres of the orthographic view, centred
    where pyrender centres it, on the scene's centroid) and ``shadow_fov`` (spot: full field of
    view in radians) are set by :func:`fit_shadow_cameras`; ``None`` keeps pyrender's frustum.
    """

    class FittedDirectionalLight(pyrender.DirectionalLight):
        shadow_extent: float | None = None

        def _get_shadow_camera(self, scene_scale):
            if self.shadow_extent is None:
                return super()._get_shadow_camera(scene_scale)
            return pyrender.OrthographicCamera(
                xmag=self.shadow_extent,
                ymag=self.shadow_extent,
                znear=0.01 * scene_scale,
                zfar=10 * scene_scale,
            )

    class FittedSpotLight(pyrender.SpotLight):
        shadow_fov: float | None = None

        def _get_shadow_camera(self, scene_scale):
            if self.shadow_fov is None:
                return super()._get_shadow_camera(scene_scale)
            return pyrender.PerspectiveCamera(
                znear=0.01 * scene_scale,
                zfar=10 * scene_scale,
                yfov=self.shadow_fov,
                aspectRatio=1.0,
            )

    return FittedDirectionalLight, FittedSpotLight


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
    """Fit every fitted light's shadow camera in ``scene`` to the ``casters`` (mesh nodes)."""
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
    """What :func:`install_shadow_reuse` remembers: the scene whose maps are drawn, and the
    lights done. ``skip`` draws no map at all (compiling programs, whose output is thrown
    away); :meth:`forget` makes the next pass draw every map again."""

    def __init__(self) -> None:
        self.scene = None
        self.done: set = set()
        self.skip = False

    def forget(self) -> None:
        """Draw every map again on the next pass (another scene was drawn in between)."""
        self.scene = None
        self.done = set()


def install_shadow_reuse(renderer) -> ShadowReuse:
    """Make a pyrender ``Renderer`` draw each light's shadow map once per scene, casters only.

    The map of a light depends on the scene's meshes and that light, not on the camera, so
    later views of the same scene object reuse it. A scene lists the nodes that do not cast
    shadows in its ``non_casters`` attribute (hidden during the shadow pass). Scenes must not
    be edited after their first render, except for the camera.
    """
    original = renderer._shadow_mapping_pass
    state = ShadowReuse()

    def shadow_mapping_pass(scene, light_node, flags):
        if state.skip:
            return
        if state.scene is not scene:
            state.scene = scene
            state.done = set()
        if light_node in state.done:
            return
        hidden = [n.mesh for n in getattr(scene, "non_casters", ()) if n.mesh.is_visible]
        for mesh in hidden:
            mesh.is_visible = False
        try:
            original(scene, light_node, flags)
        finally:
            for mesh in hidden:
                mesh.is_visible = True
        state.done.add(light_node)

    renderer._shadow_mapping_pass = shadow_mapping_pass
    return state


@functools.cache
def pooled_texture_class(pyrender):
    """A pyrender ``Texture`` for shadow maps that stays in the GL context when pyrender lets
    go of it (its ``delete`` keeps it; :meth:`free` deletes it), and is uploaded only once."""

    class PooledShadowTexture(pyrender.Texture):
        def _add_to_context(self):
            if self._texid is None:
                super()._add_to_context()

        def delete(self):  # pyrender's call when no light of the next pass uses the texture
            pass

        def free(self):
            super().delete()

    return PooledShadowTexture


class ShadowMapPool:
    """Shadow-map textures kept in one GL context and lent to each scene's lights.

    pyrender gives every light object its own 2048² depth texture and deletes it once the light
    is gone, so each new scene allocated (and faulted in) 16 MiB per shadowed light: about
    11 ms each on llvmpipe. A scene's shadow maps are drawn before its first view reads them
    (:func:`install_shadow_reuse` keys them on the scene), so every scene can use the same
    textures: :meth:`lend` hands out the first ``count`` (creating more when needed), which
    the previous scene's lights were using.
    """

    def __init__(self, pyrender) -> None:
        from pyrender.constants import SHADOW_TEX_SZ

        self._make = pooled_texture_class(pyrender)
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
