"""Every change simgen makes to pyrender and PyOpenGL, and every private member of theirs it
touches, in one module, checked against the pinned versions before any is applied.

simgen renders with pyrender, which was written for a viewer; making it a fast, exact batch
renderer on a CPU needs changes that pyrender has no public hook for. They rely on the
internals of **pyrender 0.1.45** and **PyOpenGL 3.1.0** (the pins in ``pyproject.toml``), so
:func:`import_pyrender` first compares the installed versions with :data:`PINNED` and raises
:class:`UnpinnedGLError` on a mismatch (one line, naming both versions and the ``pip install``
that fixes it). Setting the environment variable ``SIMGEN_ALLOW_UNPINNED_GL=1``
(:data:`ALLOW_UNPINNED_ENV`) turns the error into a logged warning: for a machine whose Python
has no wheel of the pins (a GPU image once had PyOpenGL 3.1.9 on Python 3.12, and rendered the
same pixels). The patched shader source is checked separately: :func:`~simgen.render.shadows.
patch_mesh_shader` raises when ``mesh.frag`` lacks the text it replaces.

Importing this module imports neither pyrender nor OpenGL; :func:`import_pyrender` does.

The patches (what each changes, why, and the internals it relies on):

1. **numpy 2 shim** (:func:`import_pyrender`): sets ``np.infty = np.inf``, which numpy 2
   removed and ``pyrender.mesh`` still uses.
2. **OpenGL 4.3 contexts** (:func:`request_gl_43`): wraps PyOpenGL's
   ``OpenGL.EGL.eglCreateContext`` to raise a requested minor version below 3 to 3. The label
   pass needs image load/store (4.3); NVIDIA's EGL driver gives exactly the 4.1 that pyrender
   asks for (Mesa gives 4.5 whatever is asked). Relies on pyrender's
   ``EGLPlatform.init_context`` importing ``eglCreateContext`` from ``OpenGL.EGL`` when called,
   and on PyOpenGL's ``OpenGL.arrays.GLintArray``.
3. **Light order** (:func:`ordered_scene_class`): a ``pyrender.Scene`` subclass whose
   ``light_nodes`` property is sorted by content. pyrender keeps light nodes in sets hashed by
   ``id()``, so the order in which the shader sums lights (and assigns shadow maps) followed
   memory layout and two processes differed by a level in a few pixels. Relies on
   ``Renderer`` reading ``scene.light_nodes`` for that order.
4. **Shader programs** (:func:`shader_cache_class`, installed by :func:`patch_context`): a
   ``ShaderProgramCache`` that replaces the renderer's private ``Renderer._program_cache``.
   Its programs load ``mesh.frag`` through :func:`~simgen.render.shadows.patch_mesh_shader`
   (one bilinear shadow lookup, exact sRGB output, light loops of constant length, compiled
   per light counts) and ``segmentation.frag`` as :data:`~simgen.render.gl_passes.LABEL_FRAG`
   (the instance map and the full silhouettes in one pass); it deletes the least recently used
   specialized programs beyond a bound. Every program it makes (of any shader) also looks up a
   uniform's location once per compilation and does not send a value the program already
   holds (pyrender sets the camera, every light and the material again for each primitive).
   Relies on ``ShaderProgram._load(shader_filename)``, ``ShaderProgram._add_to_context()``,
   ``ShaderProgram._FUNC_MAP``, on ``set_uniform`` being the only place pyrender sets a
   uniform, ``ShaderProgram._program_id`` (``None`` until compiled), ``ShaderProgram.defines``,
   ``ShaderProgramCache._program_cache`` (key -> program) and ``get_program``'s signature; a
   new program's ``__class__`` is swapped to the patched subclass before it compiles.
5. **Fitted shadow cameras** (:func:`light_classes`): ``DirectionalLight`` and ``SpotLight``
   subclasses overriding the private ``_get_shadow_camera(scene_scale)``, so that each shadow
   map covers the shadow casters instead of the whole scene
   (:func:`~simgen.render.shadows.fit_shadow_cameras`).
6. **Shadow maps once per scene** (:func:`install_shadow_reuse`): replaces the renderer's
   private ``Renderer._shadow_mapping_pass(scene, light_node, flags)`` on the instance: each
   light's map is drawn once per scene, with the scene's ``non_casters`` hidden, and reused by
   its later views; the private ``Renderer._get_light_cam_matrices(scene, light_node, flags)``
   is wrapped too, so that each light's shadow camera is computed once per scene (pyrender
   computed it for every primitive drawn).
7. **Pooled shadow textures** (:func:`pooled_texture_class`): a ``Texture`` subclass that is
   uploaded once (private ``Texture._add_to_context``, ``Texture._texid``) and survives
   pyrender's ``delete`` (called when no light of a pass uses it), so that scenes share the
   2048² depth textures (:class:`~simgen.render.shadows.ShadowMapPool`).
8. **Readback modes** (:func:`install_pass_modes`): replaces the renderer's private
   ``Renderer._read_main_framebuffer(scene, flags)`` and
   ``Renderer._configure_forward_pass_viewport(flags)`` on the instance, so that
   :class:`~simgen.render.gl_passes.PassModes` chooses what is read back (colour only, red
   only, nothing) and segmentation passes draw into the single-sample framebuffer, as shaded
   passes do when ``PassModes.multisample`` is off (``image.antialias: false``; their depth is
   then read from it too, :func:`metric_depth`). Relies on ``Renderer._main_fb``,
   ``Renderer._main_fb_ms`` and ``Renderer._main_fb_dims``.
9. **Labels in the shaded pass** (:func:`install_pass_modes`): replaces the renderer's private
   ``Renderer._bind_lighting(scene, program, node, flags)`` on the instance, which pyrender
   calls for every primitive of a shaded pass after the pass's clear, to also set the node's
   label colour (uniform ``simgen_label``). With ``PassModes.shaded_labels`` set, a
   single-sample shaded pass draws with programs that also write the instance map (to an R8
   texture attached as colour attachment 1 of ``Renderer._main_fb`` for that pass) and the
   silhouette bits (:func:`~simgen.render.gl_passes.add_label_outputs`): one geometry pass
   instead of a shaded and a label pass, with the same primitives and vertex transforms, so
   the same pixels (culling differs only for double-sided meshes: the background dome).
   Also replaces ``Renderer._get_primitive_program(primitive, flags, program_flags)``, which
   pyrender calls once per primitive before binding its program: a node without a silhouette
   bit (the ground, unlabeled clutter) draws with programs that set none and write to no
   image, so the depth test may reject its hidden fragments before they are shaded.
10. **Nearest first** (:func:`install_pass_modes`): replaces the renderer's private
   ``Renderer._sorted_mesh_nodes(scene)``, which pyrender calls once at the start of every
   pass for the order it draws in, to draw opaque nodes in
   :func:`~simgen.render.gl_passes.draw_distance` order instead of farthest centre first
   (``PassModes.nearest_first``; transparent nodes stay last, in pyrender's order), so that
   hidden fragments of nodes drawn later fail the depth test before they are shaded (not in
   shadow-map passes, which write depth only). It also notes which primitives the pass draws
   with silhouette bits (patch 9).
11. **Private members read** (accessors): ``OffscreenRenderer._renderer`` (the pyrender
   ``Renderer``; :func:`inner_renderer`), ``OffscreenRenderer._platform.make_current`` /
   ``make_uncurrent`` (:func:`current_context`), ``Renderer._compute_max_n_lights(flags)``
   (:func:`light_limits`) and ``Renderer._program_cache`` (:func:`program_cache`,
   :func:`swap_program_cache`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata

import numpy as np

from simgen.errors import SimgenError
from simgen.render.gl_passes import (
    LABEL_FRAG,
    NO_SLOT,
    SHADED_LABELS_DEFINE,
    InstanceTarget,
    PassModes,
    add_label_outputs,
    draw_distance,
    label_color,
)
from simgen.render.shadows import (
    LIGHT_COUNTS_DEFINE,
    MAX_SPECIALIZED_PROGRAMS,
    ShadowReuse,
    patch_mesh_shader,
)

PINNED = {"pyrender": "0.1.45", "PyOpenGL": "3.1.0"}
"""Distribution name -> the version whose internals these patches rely on."""

ALLOW_UNPINNED_ENV = "SIMGEN_ALLOW_UNPINNED_GL"
"""Environment variable; ``1`` turns a version mismatch into a logged warning."""

_log = logging.getLogger(__name__)
_checked = False  # the installed versions passed (or were allowed) once in this process


class UnpinnedGLError(SimgenError, RuntimeError):
    """The installed pyrender or PyOpenGL is not the version simgen's patches were written for
    (a :class:`~simgen.errors.SimgenError`: the command line prints it as one line)."""


def installed_version(name: str) -> str | None:
    """The installed version of distribution ``name``, or ``None`` when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def unpinned_allowed() -> bool:
    """Whether :data:`ALLOW_UNPINNED_ENV` is set (to anything but empty or ``0``)."""
    return os.environ.get(ALLOW_UNPINNED_ENV, "").strip() not in ("", "0")


def check_versions() -> None:
    """Compare the installed pyrender and PyOpenGL with :data:`PINNED`.

    Raises:
        UnpinnedGLError: a version differs (or a package is missing) and
            :data:`ALLOW_UNPINNED_ENV` is not set; with it set, a warning is logged instead.
    """
    found = {name: installed_version(name) for name in PINNED}
    if all(found[name] == pinned for name, pinned in PINNED.items()):
        return
    installed = ", ".join(f"{name} {found[name] or 'not installed'}" for name in PINNED)
    expected = " ".join(f"{name}=={pinned}" for name, pinned in PINNED.items())
    message = (
        f"simgen's renderer patches pyrender internals that it knows only in {expected}; "
        f"installed: {installed}. Fix: pip install {expected} "
        f"(or set {ALLOW_UNPINNED_ENV}=1 to render with these versions anyway)"
    )
    if unpinned_allowed():
        _log.warning("%s is set: rendering with unpinned versions. %s", ALLOW_UNPINNED_ENV, message)
        return
    raise UnpinnedGLError(message)


def ensure_versions() -> None:
    """:func:`check_versions`, once per process (later calls return at once).

    Raises:
        UnpinnedGLError: see :func:`check_versions`.
    """
    global _checked
    if not _checked:
        check_versions()
        _checked = True


def import_pyrender():
    """Check the versions (:func:`ensure_versions`), then import pyrender with EGL selected,
    the numpy 2 shim (patch 1) and 4.3 contexts (patch 2).

    Returns:
        the ``pyrender`` module.

    Raises:
        UnpinnedGLError: see :func:`check_versions`.
    """
    ensure_versions()
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    if not hasattr(np, "infty"):
        np.infty = np.inf  # noqa: NPY201 - pyrender 0.1.45 still uses it
    import pyrender

    request_gl_43()
    return pyrender


def request_gl_43() -> None:
    """Make pyrender's EGL contexts ask for OpenGL 4.3 core instead of 4.1 (patch 2).

    The label pass needs image load/store (4.3). Mesa gives its highest version (4.5) whatever
    is asked; NVIDIA's EGL driver gives exactly the version asked for, so pyrender's 4.1 request
    got a context without it. pyrender builds the request inside ``EGLPlatform.init_context``,
    so the request is raised where it is passed on, in ``OpenGL.EGL.eglCreateContext``.
    Idempotent.
    """
    from OpenGL import EGL, arrays

    if getattr(EGL.eglCreateContext, "simgen_gl_43", False):
        return
    original = EGL.eglCreateContext

    def create_context(display, config, share, attributes):
        values = [int(v) for v in np.asarray(attributes).ravel()]
        for k in range(0, len(values) - 1, 2):
            if values[k] == EGL.EGL_NONE:
                break
            if values[k] == EGL.EGL_CONTEXT_MINOR_VERSION and values[k + 1] < 3:
                values[k + 1] = 3
        return original(display, config, share, arrays.GLintArray.asArray(values))

    create_context.simgen_gl_43 = True
    EGL.eglCreateContext = create_context


def _light_order(node) -> tuple:
    """A sort key that identifies a light node by its content, not its memory address."""
    light = node.light
    return (
        type(light).__name__,
        tuple(np.asarray(node.matrix, dtype=np.float64).ravel()),
        tuple(np.asarray(light.color, dtype=np.float64).ravel()),
        float(light.intensity),
    )


@functools.cache
def ordered_scene_class(pyrender):
    """A ``pyrender.Scene`` whose ``light_nodes`` come in a fixed order (patch 3).

    pyrender keeps lights in sets of nodes hashed by ``id()``, so the order in which the shader
    sums the lights (and assigns shadow maps) changed with memory layout, and the same scene
    rendered in two processes differed in a few pixels by one level. Sorting by content makes
    the pixels a function of the scene alone.
    """

    class OrderedScene(pyrender.Scene):
        @property
        def light_nodes(self):
            nodes = self.point_light_nodes | self.spot_light_nodes | self.directional_light_nodes
            return sorted(nodes, key=_light_order)

    return OrderedScene


@functools.cache
def shader_cache_class(pyrender):
    """A ``ShaderProgramCache`` whose ``mesh.frag`` programs use
    :func:`~simgen.render.shadows.patch_mesh_shader` and whose segmentation programs use
    :data:`~simgen.render.gl_passes.LABEL_FRAG` (patch 4).

    Set the cache's ``light_counts`` (directional, spot, point lights bound by pyrender) before
    a shaded pass: programs are then compiled, and cached, per light counts (``None``:
    pyrender's loops over uniform counts). With ``label_outputs`` set, shaded programs also
    write the label pass's outputs (:func:`~simgen.render.gl_passes.add_label_outputs`;
    compiled apart). ``materials`` collects the shaders and defines (those of the pass aside)
    of every specialized program compiled: one per kind of material.
    """
    from OpenGL import GL
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
                labels = self.defines.get(SHADED_LABELS_DEFINE)
                if labels is not None:
                    text = add_label_outputs(text, bits=labels == "bits")
            return text

        def _add_to_context(self):
            super()._add_to_context()
            self._locations: dict[str, int] = {}  # of this compilation
            self._held: dict[str, tuple] = {}  # the values this compilation holds

        def set_uniform(self, name, value, unsigned=False):
            # pyrender's set_uniform, minus two costs: a uniform's location is looked up once
            # per compiled program instead of at every call, and a value equal to the one the
            # program already holds is not sent again (a program keeps its uniforms, and only
            # this method sets them). The same values reach GL otherwise; errors are ignored
            # as pyrender ignores them.
            try:
                if isinstance(value, np.ndarray):
                    if value.ndim == 1:
                        if np.issubdtype(value.dtype, np.unsignedinteger) or unsigned:
                            key, value = (value.shape[0], "u"), value.astype(np.uint32)
                        elif np.issubdtype(value.dtype, np.integer):
                            key, value = (value.shape[0], "i"), value.astype(np.int32)
                        else:
                            key, value = (value.shape[0], "f"), value.astype(np.float32)
                        send, args = self._FUNC_MAP[key], (1, value)
                    else:
                        key = (value.shape[0], value.shape[1])
                        send, args = self._FUNC_MAP[key], (1, GL.GL_TRUE, value)
                    held = (key, value.dtype.str, value.tobytes())
                elif isinstance(value, float):
                    send, args, held = GL.glUniform1f, (value,), (float, unsigned, value)
                elif isinstance(value, int):
                    send = GL.glUniform1ui if unsigned else GL.glUniform1i
                    args, held = (value,), (type(value), unsigned, value)
                else:
                    return
                if self._held.get(name) == held:
                    return
                loc = self._locations.get(name)
                if loc is None:
                    loc = self._locations[name] = GL.glGetUniformLocation(self._program_id, name)
                if loc != -1:
                    send(loc, *args)
                    self._held[name] = held
            except Exception:  # pyrender ignores a failed uniform too
                pass

    class PatchedProgramCache(ShaderProgramCache):
        light_counts: tuple[int, int, int] | None = None
        label_outputs: bool = False
        """Whether shaded programs also write the label pass's outputs (compiled apart)."""
        label_bits: bool = True
        """With ``label_outputs``: whether the next program also sets silhouette bits (for a
        node that has one; compiled apart from the program without)."""
        max_specialized: int = MAX_SPECIALIZED_PROGRAMS

        def __init__(self, shader_dir=None):
            super().__init__(shader_dir)
            self._recent: dict[int, object] = {}  # id -> specialized program, oldest first
            self.materials: set[tuple] = set()

        def get_program(self, vertex_shader, fragment_shader, geometry_shader=None, defines=None):
            shaded = fragment_shader == "mesh.frag"
            specialized = shaded and self.light_counts is not None
            material = defines or {}
            extra = {}  # defines of the pass, not of the material
            if specialized:
                extra[LIGHT_COUNTS_DEFINE] = ",".join(str(int(c)) for c in self.light_counts)
            if shaded and self.label_outputs:
                extra[SHADED_LABELS_DEFINE] = "bits" if self.label_bits else "ids"
            if extra:
                defines = {**material, **extra}
            program = super().get_program(vertex_shader, fragment_shader, geometry_shader, defines)
            if program._program_id is None:  # new: not compiled yet
                program.__class__ = PatchedProgram
                if specialized:
                    kind = {**material, **extra}
                    kind.pop(LIGHT_COUNTS_DEFINE)
                    names = sorted((name, str(value)) for name, value in kind.items())
                    self.materials.add((vertex_shader, fragment_shader, geometry_shader, *names))
            if specialized:
                self._touch(program)
            return program

        @property
        def compiled(self) -> int:
            """Programs held (every kind, specialized or not)."""
            return len(self._program_cache)

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
    """pyrender directional and spot lights whose shadow camera is fitted to the casters
    (patch 5).

    ``shadow_extent`` (directional: half-width in metres of the orthographic view, centred
    where pyrender centres it, on the scene's centroid) and ``shadow_fov`` (spot: full field of
    view in radians) are set by :func:`~simgen.render.shadows.fit_shadow_cameras`; ``None``
    keeps pyrender's frustum.
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


@functools.cache
def pooled_texture_class(pyrender):
    """A pyrender ``Texture`` for shadow maps that stays in the GL context when pyrender lets
    go of it (its ``delete`` keeps it; ``free`` deletes it), and is uploaded only once
    (patch 7)."""

    class PooledShadowTexture(pyrender.Texture):
        def _add_to_context(self):
            if self._texid is None:
                super()._add_to_context()

        def delete(self):  # pyrender's call when no light of the next pass uses the texture
            pass

        def free(self):
            """Delete the texture (in the current context)."""
            super().delete()

    return PooledShadowTexture


def install_shadow_reuse(renderer) -> ShadowReuse:
    """Make a pyrender ``Renderer`` draw each light's shadow map once per scene, casters only
    (patch 6).

    The map of a light depends on the scene's meshes and that light, not on the camera, so
    later views of the same scene object reuse it. A scene lists the nodes that do not cast
    shadows in its ``non_casters`` attribute (hidden during the shadow pass). Scenes must not
    be edited after their first render, except for the camera.

    Returns:
        the :class:`~simgen.render.shadows.ShadowReuse` state the patched pass follows.
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
        state.drawing = True  # a depth-only pass: the order meshes are drawn in changes nothing
        try:
            original(scene, light_node, flags)
        finally:
            state.drawing = False
            for mesh in hidden:
                mesh.is_visible = True
        state.done.add(light_node)

    light_cam_matrices = renderer._get_light_cam_matrices
    cameras: dict = {}  # light node -> (V, P), of cameras_scene's lights
    cameras_scene = None

    def remembered_light_cam_matrices(scene, light_node, flags):
        # A light's shadow camera depends on the scene's meshes and the light only (the maps
        # drawn with it are reused by every view), yet pyrender computes it again for every
        # primitive each view draws.
        nonlocal cameras_scene
        if cameras_scene is not scene:
            cameras.clear()
            cameras_scene = scene
        if light_node not in cameras:
            cameras[light_node] = light_cam_matrices(scene, light_node, flags)
        return cameras[light_node]

    renderer._shadow_mapping_pass = shadow_mapping_pass
    renderer._get_light_cam_matrices = remembered_light_cam_matrices
    return state


def metric_depth(window: np.ndarray, znear: float, zfar: float | None) -> np.ndarray:
    """(H, W) float32 distances along the camera's z axis in metres, 0 where nothing was
    drawn, from (H, W) float32 window depths in [0, 1] of a perspective projection with
    ``znear`` and ``zfar`` (``None``: infinite), as pyrender's own readback computes them."""
    ndc = 2.0 * window - 1.0
    hit = window != 1.0
    out = np.zeros_like(window)
    if zfar is None:
        out[hit] = 2.0 * znear / (1.0 - ndc[hit])
    else:
        out[hit] = 2.0 * znear * zfar / (zfar + znear - ndc[hit] * (zfar - znear))
    return out


def install_pass_modes(renderer, shadows: ShadowReuse | None = None) -> PassModes:
    """Patch a pyrender ``Renderer`` so that :class:`~simgen.render.gl_passes.PassModes`
    controls its readback, segmentation passes (and shaded passes with ``modes.multisample``
    off) draw into the single-sample framebuffer (patch 8), and a shaded pass given
    ``modes.shaded_labels`` also writes the instance map and the silhouette bits (patch 9),
    and every pass draws its opaque nodes nearest first (patch 10), except the shadow-map
    passes that ``shadows`` (patch 6) says are drawing: they write depth only, which the order
    does not change."""
    from OpenGL import GL
    from pyrender.constants import RenderFlags

    modes = PassModes()
    read = renderer._read_main_framebuffer
    configure_viewport = renderer._configure_forward_pass_viewport
    bind_lighting = renderer._bind_lighting
    target = InstanceTarget()
    unlabeled = label_color(0, NO_SLOT)

    def labels_drawn(flags) -> bool:
        return not flags & RenderFlags.SEG and modes.shaded_labels is not None

    def configure_forward_pass_viewport(flags):
        configure_viewport(flags)
        single = flags & RenderFlags.SEG or not modes.multisample
        if single and flags & RenderFlags.OFFSCREEN:
            # Segmentation passes rasterize with multisampling off (pixel centres): drawn into
            # the single-sample framebuffer they give the same pixels without writing,
            # clearing and resolving four samples each. A shaded pass goes there too when
            # modes.multisample is off.
            GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, renderer._main_fb)
        if labels_drawn(flags):
            if modes.multisample or not flags & RenderFlags.OFFSCREEN:
                raise ValueError("a shaded pass writes labels only single-sampled, offscreen")
            target.attach(*renderer._main_fb_dims)

    def bind_lighting_and_label(scene, program, node, flags):
        # pyrender binds the lights for every primitive of a shaded pass, after its clear
        bind_lighting(scene, program, node, flags)
        if labels_drawn(flags):
            color = modes.shaded_labels.get(node, unlabeled)  # bytes, as pyrender's SEG pass
            program.set_uniform("simgen_label", np.asarray(color, dtype=np.float64) / 255.0)
            target.unmask()

    def read_main_framebuffer(scene, flags):
        if not labels_drawn(flags):
            return read_pass(scene, flags)
        try:
            result = read_pass(scene, flags)
            if modes.read_depth or modes.read_format != "none":
                modes.label_ids = target.read()  # the pass bound the framebuffer for reading
            return result
        finally:
            target.detach()

    def read_pass(scene, flags):
        seg = flags & RenderFlags.SEG
        if seg and modes.read_depth:
            raise ValueError("a segmentation pass reads colour only (read_depth=False)")
        wants_depth = not seg and (modes.read_depth or flags & RenderFlags.DEPTH_ONLY)
        if wants_depth and modes.multisample:
            return read(scene, flags)
        if not wants_depth and modes.read_format == "none":
            return None, None
        width, height = renderer._main_fb_dims
        if not seg and modes.multisample:
            GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, renderer._main_fb_ms)
            GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, renderer._main_fb)
            GL.glBlitFramebuffer(
                0, 0, width, height, 0, 0, width, height, GL.GL_COLOR_BUFFER_BIT, GL.GL_LINEAR
            )
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, renderer._main_fb)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        depth = None
        if wants_depth:
            window = np.empty((height, width), dtype=np.float32)
            GL.glReadPixels(0, 0, width, height, GL.GL_DEPTH_COMPONENT, GL.GL_FLOAT, window)
            camera = scene.main_camera_node.camera
            depth = metric_depth(window[::-1], camera.znear, camera.zfar)
            if flags & RenderFlags.DEPTH_ONLY:
                return depth
        if modes.read_format == "red" and not wants_depth:
            shape, fmt = (height, width), GL.GL_RED
        elif flags & RenderFlags.RGBA:
            shape, fmt = (height, width, 4), GL.GL_RGBA
        else:
            shape, fmt = (height, width, 3), GL.GL_RGB
        pixels = np.empty(shape, dtype=np.uint8)
        GL.glReadPixels(0, 0, width, height, fmt, GL.GL_UNSIGNED_BYTE, pixels)
        return pixels[::-1], depth

    sort_nodes = renderer._sorted_mesh_nodes
    get_program = renderer._get_primitive_program
    with_bits: set[int] = set()  # id() of the primitives of the pass's nodes with a bit

    def sorted_mesh_nodes(scene):
        # pyrender calls this once per pass, before the pass draws its first primitive
        nodes = sort_nodes(scene)  # farthest centre first, transparent meshes last
        with_bits.clear()
        for node, color in (modes.shaded_labels or {}).items():
            if tuple(color[1:]) != unlabeled[1:]:
                with_bits.update(id(primitive) for primitive in node.mesh.primitives)
        if not modes.nearest_first or (shadows is not None and shadows.drawing):
            return nodes
        eye = scene.get_pose(scene.main_camera_node)[:3, 3]
        solid = [node for node in nodes if not node.mesh.is_transparent]
        solid.sort(key=lambda node: draw_distance(node.mesh.bounds, scene.get_pose(node), eye))
        return solid + nodes[len(solid) :]

    def get_primitive_program(primitive, flags, program_flags):
        cache = renderer._program_cache
        cache.label_bits = id(primitive) in with_bits
        try:
            return get_program(primitive, flags, program_flags)
        finally:
            cache.label_bits = True

    renderer._sorted_mesh_nodes = sorted_mesh_nodes
    renderer._get_primitive_program = get_primitive_program
    renderer._read_main_framebuffer = read_main_framebuffer
    renderer._configure_forward_pass_viewport = configure_forward_pass_viewport
    renderer._bind_lighting = bind_lighting_and_label
    return modes


@dataclass(frozen=True)
class PatchedContext:
    """The state of the patches installed in one ``OffscreenRenderer`` (:func:`patch_context`).

    Attributes:
        shadows: what the shadow pass remembers (patch 6).
        modes: the readback of the next pass (patch 8).
    """

    shadows: ShadowReuse
    modes: PassModes


def patch_context(offscreen, pyrender) -> PatchedContext:
    """Install patches 4, 6, 8, 9 and 10 in a new ``OffscreenRenderer``'s renderer (its program
    cache is replaced by a :func:`shader_cache_class` one)."""
    inner = inner_renderer(offscreen)
    inner._program_cache = shader_cache_class(pyrender)()
    shadows = install_shadow_reuse(inner)
    return PatchedContext(shadows=shadows, modes=install_pass_modes(inner, shadows))


def inner_renderer(offscreen):
    """The pyrender ``Renderer`` of an ``OffscreenRenderer`` (private ``_renderer``)."""
    return offscreen._renderer


def program_cache(offscreen):
    """The shader-program cache the ``OffscreenRenderer`` draws with (private
    ``Renderer._program_cache``): a :func:`shader_cache_class` one once patched."""
    return inner_renderer(offscreen)._program_cache


def swap_program_cache(offscreen, cache):
    """Make the ``OffscreenRenderer`` draw with ``cache`` (benchmarks: pyrender's own
    ``ShaderProgramCache``); returns the cache it used."""
    inner = inner_renderer(offscreen)
    previous, inner._program_cache = inner._program_cache, cache
    return previous


def light_limits(offscreen, flags) -> tuple[int, int, int]:
    """The most (directional, spot, point) lights pyrender binds in a pass with ``flags``
    (private ``Renderer._compute_max_n_lights``: fewer with shadows, which take samplers)."""
    return tuple(inner_renderer(offscreen)._compute_max_n_lights(flags))


@contextlib.contextmanager
def current_context(offscreen) -> Iterator[None]:
    """Make the ``OffscreenRenderer``'s GL context current for the block (private
    ``_platform``)."""
    offscreen._platform.make_current()
    try:
        yield
    finally:
        offscreen._platform.make_uncurrent()
