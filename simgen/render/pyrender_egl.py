"""pyrender backend on headless EGL (Mesa llvmpipe on a CPU, the NVIDIA driver on a GPU).

Two passes per view: a shaded RGB (+ depth) pass (multisampled, optional shadows), and a flat
label pass whose red channel is the instance id and which also ORs each labeled object's bit
into its full-silhouette word (:mod:`simgen.render.gl_passes`). The renderer and each
asset's vertex arrays are created once and reused; a pyrender scene is built once per sampled
scene and shared by its views, and so are its shadow maps (:mod:`simgen.render.shadows`).

Everything this backend changes in pyrender, and every private member of pyrender it uses, is
in :mod:`simgen.render.pyrender_patches` (which checks the installed versions first).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from simgen.assets import Asset
from simgen.geometry import pose_matrix
from simgen.memory import release_free_heap
from simgen.render.base import RenderOutput
from simgen.render.colour import (
    linear_rgba,
    linearize_vertex_colors,
    paint_vertex_colors,
    recolor_parts,
)
from simgen.render.gl_passes import SilhouetteWords, bind_words, label_pass, slot_colors
from simgen.render.pyrender_patches import (
    current_context,
    import_pyrender,
    light_classes,
    light_limits,
    ordered_scene_class,
    patch_context,
    pooled_texture_class,
    program_cache,
)
from simgen.render.shadows import ShadowMapPool, fit_shadow_cameras
from simgen.scene import CameraView, SceneSample

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

FLAT_SHADED = ("box", "cylinder", "cone")
"""Primitives drawn with per-face normals (sharp edges)."""


DOME_RADIUS = 10.0
"""Metres; the background dome encloses the scene (keep ``zfar`` beyond it)."""


def background_image(params: dict, width: int, height: int) -> np.ndarray:
    """(H, W, 3) uint8 background: the texture centre-cropped to the image's aspect, resized."""
    import cv2

    from simgen.randomize.texture import make_texture

    texture = make_texture(params)
    side = texture.shape[0]
    if width >= height:
        crop_w, crop_h = side, max(1, round(side * height / width))
    else:
        crop_w, crop_h = max(1, round(side * width / height)), side
    y0, x0 = (side - crop_h) // 2, (side - crop_w) // 2
    crop = texture[y0 : y0 + crop_h, x0 : x0 + crop_w]
    return cv2.resize(crop, (width, height), interpolation=cv2.INTER_LINEAR)


def composite_background(rgba: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Paste a background behind a render whose empty pixels have alpha 0.

    Args:
        rgba: (H, W, 4) uint8 render over a transparent black background (colour is
            premultiplied by coverage at anti-aliased edges).
        background: (H, W, 3) uint8 background image (:func:`background_image`).

    Returns:
        (H, W, 3) uint8: ``rgb + (1 - alpha) * background``, computed in float32 and rounded
        where alpha < 255 (elsewhere that is ``rgb`` itself).
    """
    out = rgba[:, :, :3].copy()
    partial = rgba[:, :, 3] < 255
    alpha = rgba[partial, 3:4].astype(np.float32) / 255.0
    blend = out[partial].astype(np.float32) + (1.0 - alpha) * background[partial].astype(np.float32)
    out[partial] = np.clip(np.rint(blend), 0, 255).astype(np.uint8)
    return out


def require_gl_version(major: int, minor: int, what: str) -> None:
    """Raise a clear error when the current OpenGL context is older than ``major.minor``."""
    from OpenGL import GL

    text = GL.glGetString(GL.GL_VERSION).decode(errors="replace")
    version = tuple(int(part) for part in text.split()[0].split(".")[:2])
    if version < (major, minor):
        raise RuntimeError(
            f"simgen needs OpenGL {major}.{minor} for {what}; this context is {text!r} "
            "(Mesa's llvmpipe gives 4.5, NVIDIA's EGL driver 4.6)"
        )


class PyrenderRenderer:
    """Render :class:`SceneSample` views with pyrender.

    Args:
        assets: the catalog; ``assets[obj.catalog_index]`` is each object's mesh.

    Attributes:
        constant_light_loops: compile the shaded pass per light counts, with loops of constant
            length (:func:`~simgen.render.shadows.patch_mesh_shader`; same pixels, faster on
            llvmpipe). ``False`` keeps pyrender's loops over uniform counts (benchmarks, tests).
    """

    constant_light_loops: bool = True
    one_pass_labels: bool = True
    """Draw a single-sampled view's labels (instance map and full silhouettes) in its shaded
    pass, one geometry pass instead of two (same pixels and labels); ``False``: a label pass of
    their own, as multisampled views always have (benchmarks, tests)."""
    nearest_first: bool = True
    """Draw opaque meshes nearest first (:func:`~simgen.render.gl_passes.draw_distance`), so
    that the depth test rejects hidden fragments before they are shaded; ``False``: pyrender's
    order, farthest centre first (benchmarks, tests). Only equal depths can differ."""
    warm_light_counts: Sequence[tuple[int, int, int]] = ()
    """(directional, spot, point) light counts to compile the shaded pass for, for every kind
    of material as soon as a scene brings it (:meth:`_warm_up`; set by :meth:`warm_shaders`);
    empty: compile each program when a view first needs it."""

    def __init__(self, assets: Sequence[Asset]) -> None:
        self._pyrender = import_pyrender()
        self._scene_class = ordered_scene_class(self._pyrender)
        self._assets = list(assets)
        self._offscreen = None
        self._shadow_maps: ShadowMapPool | None = None  # lives in the context
        self._size: tuple[int, int] | None = None
        self._templates: dict[int, object] = {}
        self._originals: dict[int, object] = {}
        self._decal_cache: dict[int, object] = {}
        self._plated: dict[int, object] = {}  # _originals with their decals
        self._uv_cache: dict[int, np.ndarray] = {}
        self._cached: tuple[int, object, dict, object] | None = None
        self._backdrop: tuple[SceneSample, np.ndarray] | None = None
        self._warmed: set[tuple] = set()  # materials compiled for every warm_light_counts
        self.programs_warmed = 0

    def close(self) -> None:
        """Delete the GL context."""
        if self._offscreen is not None:
            self.free_shadow_maps()
            self._shadow_maps = None
            self._offscreen.delete()
            self._offscreen = None

    def warm_shaders(self, light_counts: Sequence[tuple[int, int, int]]) -> None:
        """Compile the shaded pass for each (directional, spot, point) light count of
        ``light_counts`` for every kind of material as soon as a scene first brings it, instead
        of when a view first needs it (sets :attr:`warm_light_counts`; empty: lazily)."""
        self.warm_light_counts = tuple(light_counts)

    def free_shadow_maps(self) -> None:
        """Delete the pooled shadow-map textures (:class:`~simgen.render.shadows.ShadowMapPool`);
        the next view builds its scene again, and its lights get new ones."""
        if self._shadow_maps is not None:
            with current_context(self._offscreen):
                self._shadow_maps.free()
        self._cached = None  # its lights hold the freed textures

    @property
    def shadow_maps_allocated(self) -> int:
        """Shadow-map textures held in the pool (the most that one scene's lights needed)."""
        return 0 if self._shadow_maps is None else self._shadow_maps.size

    def __enter__(self) -> PyrenderRenderer:
        """The renderer itself."""
        return self

    def __exit__(self, *exc: object) -> None:
        """:meth:`close` it."""
        self.close()

    def _renderer(self, width: int, height: int):
        if self._size != (width, height):
            self.close()  # the cached scene goes too: its lights hold this context's maps
            try:
                self._offscreen = self._pyrender.OffscreenRenderer(width, height)
            except Exception as exc:
                raise RuntimeError(
                    "cannot create a headless OpenGL (EGL) context; install the Debian "
                    "packages libegl1 libegl-mesa0 libgl1-mesa-dri libgbm1 "
                    f"({type(exc).__name__}: {exc})"
                ) from exc
            require_gl_version(4, 3, "the label pass (image load/store)")
            patched = patch_context(self._offscreen, self._pyrender)
            self._shadows, self._modes = patched.shadows, patched.modes
            self._shadow_maps = ShadowMapPool(pooled_texture_class(self._pyrender))
            self._warmed = set()
            self._words = SilhouetteWords()  # lives in this context
            self._size = (width, height)
        return self._offscreen

    def _template(self, index: int):
        """pyrender mesh with positions/normals/indices of an asset (built once)."""
        if index not in self._templates:
            import trimesh

            asset = self._assets[index]
            plain = trimesh.Trimesh(asset.mesh.vertices, asset.mesh.faces, process=False)
            self._templates[index] = self._pyrender.Mesh.from_trimesh(
                plain, smooth=asset.primitive not in FLAT_SHADED
            ).primitives[0]
        return self._templates[index]

    def _original(self, index: int):
        """pyrender mesh of an asset with its own colours (vertex colours linear; built once).

        A texture with an OBJ material (``.mtl``: no metalness in it) is lit as a dielectric:
        pyrender's conversion leaves its metallic factor at glTF's default of 1, a metal that
        without an environment map reflects only highlights and renders its texture dark."""
        if index not in self._originals:
            source = self._assets[index].mesh
            mesh = self._pyrender.Mesh.from_trimesh(source)
            linearize_vertex_colors(mesh)  # PLY/OBJ vertex colours are sRGB
            if _has_obj_material(source):
                for primitive in mesh.primitives:
                    primitive.material.metallicFactor = 0.0
            self._originals[index] = mesh
        return self._originals[index]

    def _rebuilt(self, obj, material_for, repaint=None):
        """The asset's own mesh, its arrays shared with :meth:`_original`: each primitive drawn
        with ``material_for(its material)`` and, given ``repaint`` ((N, 4) float32 -> same),
        its linear vertex colours passed through it."""
        return self._pyrender.Mesh(
            [
                self._pyrender.Primitive(
                    positions=p.positions,
                    normals=p.normals,
                    texcoord_0=p.texcoord_0,
                    color_0=p.color_0 if repaint is None else repaint(p.color_0),
                    indices=p.indices,
                    material=material_for(p.material),
                )
                for p in self._original(obj.catalog_index).primitives
            ]
        )

    def _repainted(self, obj, repaint):
        """The asset's own mesh with each primitive's linear vertex colours passed through
        ``repaint``, lit with the instance's metallic and roughness."""
        material = self._pyrender.MetallicRoughnessMaterial(
            baseColorFactor=(1.0, 1.0, 1.0, 1.0),
            metallicFactor=obj.metallic,
            roughnessFactor=obj.roughness,
        )
        return self._rebuilt(obj, lambda _: material, repaint)

    def _relit(self, obj):
        """The asset's own mesh (vertex colours or texture) with its materials' metallic and
        roughness factors set to the instance's."""

        def relit(material):
            material = copy.copy(material)
            material.metallicFactor = obj.metallic
            material.roughnessFactor = obj.roughness
            return material

        return self._rebuilt(obj, relit)

    def _mesh(self, obj):
        """The pyrender mesh of one instance: :meth:`_coloured`, plus its asset's decals."""
        index = obj.catalog_index
        mesh = self._coloured(obj)
        decals = self._decals(index)
        if decals is None:
            return mesh
        shared = mesh is self._originals.get(index)  # one mesh for every such instance
        if shared and index in self._plated:
            return self._plated[index]
        own = self._pyrender.Primitive(  # a primitive binds to one mesh: share its arrays
            positions=decals.positions,
            normals=decals.normals,
            color_0=decals.color_0,
            indices=decals.indices,
            material=decals.material,
        )
        plated = self._pyrender.Mesh([*mesh.primitives, own])
        if shared:
            self._plated[index] = plated
        return plated

    def _decals(self, index: int):
        """The primitive of an asset's decals in their own (linear) vertex colours, lit as a
        dielectric, or ``None`` (built once)."""
        if index not in self._decal_cache:
            source = self._assets[index].decals
            primitive = None
            if source is not None:
                mesh = self._pyrender.Mesh.from_trimesh(source, smooth=False)
                linearize_vertex_colors(mesh)
                primitive = mesh.primitives[0]
                primitive.material.metallicFactor = 0.0
                primitive.material.roughnessFactor = 0.6
            self._decal_cache[index] = primitive
        return self._decal_cache[index]

    def _coloured(self, obj):
        """The instance's own mesh in its colour mode (without decals)."""
        pyrender = self._pyrender
        if obj.parts == ():  # own colours, lit with the instance's material
            return self._relit(obj)
        if obj.parts is not None:  # color: parts
            return self._repainted(obj, lambda colors: recolor_parts(colors, obj.parts))
        if obj.color is None:
            return self._original(obj.catalog_index)
        if obj.paint is not None:  # color: paint
            return self._repainted(
                obj, lambda colors: paint_vertex_colors(colors, obj.color, obj.paint)
            )
        template = self._template(obj.catalog_index)
        texcoords = texture = None
        color = linear_rgba(obj.color)
        if obj.texture is not None:
            texcoords = self._uvs(obj.catalog_index, template)
            texture = self._texture(obj.texture)
            color = (1.0, 1.0, 1.0, 1.0)
        material = pyrender.MetallicRoughnessMaterial(
            baseColorFactor=color,
            baseColorTexture=texture,
            metallicFactor=obj.metallic,
            roughnessFactor=obj.roughness,
        )
        return self._reuse(template, material, texcoords)

    def _reuse(self, template, material, texcoords: np.ndarray | None):
        """A mesh sharing a template primitive's arrays, with its own material and UVs."""
        primitive = self._pyrender.Primitive(
            positions=template.positions,
            normals=template.normals,
            texcoord_0=texcoords,
            indices=template.indices,
            material=material,
        )
        return self._pyrender.Mesh([primitive])

    def _uvs(self, index: int, template) -> np.ndarray:
        """(N, 2) box-projected UVs of an asset's template vertices (computed once)."""
        if index not in self._uv_cache:
            from simgen.randomize.texture import texture_uvs

            self._uv_cache[index] = texture_uvs(template.positions, template.normals)
        return self._uv_cache[index]

    def _texture(self, params: dict):
        from simgen.randomize.texture import make_texture

        return self._pyrender.Texture(source=make_texture(params), source_channels="RGB")

    def _box(
        self, extents, color, texture: dict | None = None, tile: float = 1.0, sides: bool = False
    ):
        """A flat-shaded box centred at its origin; a texture repeats every ``tile`` metres,
        projected along z (the ground's top face) or, with ``sides``, onto every face."""
        import trimesh

        pyrender = self._pyrender
        box = pyrender.Mesh.from_trimesh(trimesh.creation.box(extents=extents), smooth=False)
        template = box.primitives[0]
        material = pyrender.MetallicRoughnessMaterial(
            baseColorFactor=linear_rgba(color) if texture is None else (1.0, 1.0, 1.0, 1.0),
            baseColorTexture=None if texture is None else self._texture(texture),
            metallicFactor=0.0,
            roughnessFactor=0.8,
        )
        if texture is None:
            texcoords = None
        elif sides:
            from simgen.randomize.texture import texture_uvs

            span = float(np.max(extents)) / tile
            texcoords = texture_uvs(template.positions, template.normals) * span
        else:
            texcoords = template.positions[:, :2] / tile
        return self._reuse(template, material, texcoords)

    def _dome(self, texture: dict):
        """A large unlit sphere, seen from inside, showing a background texture."""
        import trimesh

        pyrender = self._pyrender
        sphere = trimesh.creation.uv_sphere(radius=DOME_RADIUS, count=(32, 64))
        vertices = np.asarray(sphere.vertices)
        direction = vertices / DOME_RADIUS
        uv = np.stack(
            [
                # |azimuth| mirrors the texture at the back, so u has no seam.
                np.abs(np.arctan2(direction[:, 1], direction[:, 0])) / np.pi * 2.0,
                np.arccos(np.clip(direction[:, 2], -1, 1)) / np.pi * 2.0,
            ],
            axis=1,
        )
        material = pyrender.MetallicRoughnessMaterial(
            baseColorFactor=(0.0, 0.0, 0.0, 1.0),
            emissiveFactor=(1.0, 1.0, 1.0),
            emissiveTexture=self._texture(texture),
            doubleSided=True,
        )
        primitive = pyrender.Primitive(
            positions=vertices,
            normals=-np.asarray(sphere.vertex_normals),
            texcoord_0=uv,
            indices=np.asarray(sphere.faces)[:, ::-1],
            material=material,
        )
        return pyrender.Mesh([primitive])

    def _build(self, sample: SceneSample):
        pyrender = self._pyrender
        composite = sample.background_texture is not None and sample.background_composite
        scene = self._scene_class(
            bg_color=(0.0, 0.0, 0.0, 0.0) if composite else (*sample.background_color, 1.0),
            ambient_light=(sample.ambient,) * 3,
        )
        seg_map: dict = {}
        casters = []
        scene.non_casters = []
        if sample.ground_size > 0:
            size = sample.ground_size
            slab = self._box(
                (size, size, 0.1), sample.ground_color, sample.ground_texture, sample.ground_tile
            )
            ground = scene.add(slab, pose=pose_matrix(np.eye(3), np.array([0.0, 0.0, -0.05])))
            seg_map[ground] = 0
            scene.non_casters.append(ground)
        for obj in sample.objects:
            matrix = obj.pose @ np.diag([obj.scale, obj.scale, obj.scale, 1.0])
            node = scene.add(self._mesh(obj), pose=matrix)
            seg_map[node] = obj.instance_id if obj.labeled else 0
            casters.append(node)
        for prop in sample.props:
            box = self._box(prop.extents, prop.color, prop.texture, prop.tile, sides=True)
            node = scene.add(box, pose=prop.pose)
            seg_map[node] = 0
            casters.append(node)
        if sample.background_texture is not None and not sample.background_composite:
            dome = scene.add(self._dome(sample.background_texture))
            seg_map[dome] = 0
            scene.non_casters.append(dome)
        directional, spot = light_classes(pyrender)
        shadowed = [sample.shadows and light.kind != "point" for light in sample.lights]
        maps = iter(self._shadow_maps.lend(sum(shadowed)))
        for light, casts in zip(sample.lights, shadowed, strict=True):
            if light.kind == "directional":
                item = directional(color=light.color, intensity=light.intensity)
            elif light.kind == "point":
                item = pyrender.PointLight(color=light.color, intensity=light.intensity)
            else:
                item = spot(
                    color=light.color,
                    intensity=light.intensity,
                    innerConeAngle=np.pi / 8,
                    outerConeAngle=np.pi / 4,
                )
            if casts:
                item.shadow_texture = next(maps)
            scene.add(item, pose=light.pose)
        if sample.shadows:
            fit_shadow_cameras(scene, casters)
        return scene, seg_map

    def _warm_up(self, sample: SceneSample, flags) -> None:
        """Compile the shaded pass for every count of :attr:`warm_light_counts` for the kinds of
        material that ``sample``'s scene draws and no earlier warm-up covered.

        Each program is compiled by drawing a copy of the scene with that many lights, seen by
        a camera that looks away from it, with the pooled shadow-map textures bound but no
        shadow map drawn, and nothing read back: the same GL state as a real view, so llvmpipe
        compiles the same shader variants, but almost nothing to raster. It
        turns the shader cache's growth over a long run (a program per material and light
        counts, a few MiB of machine code each, compiled when first needed) into a cost paid
        when the worker starts. Skipped when the programs would not fit the cache.
        """
        pyrender = self._pyrender
        cache = program_cache(self._offscreen)
        materials = cache.materials - self._warmed
        if not materials:
            return
        limits = light_limits(self._offscreen, flags)
        counts = sorted(
            {
                tuple(min(c, limit) for c, limit in zip(n, limits, strict=True))
                for n in self.warm_light_counts
            }
        )
        if len(counts) * len(cache.materials) > cache.max_specialized:
            self._warmed |= materials  # too many to keep: compile lazily
            return
        scene, seg_map = self._build(replace(sample, lights=()))
        view = sample.views[0]
        away = np.diag([1.0, -1.0, -1.0, 1.0])  # looks up, from above everything
        away[2, 3] = 4 * DOME_RADIUS + view.zfar
        scene.add(self._camera(view), pose=away)
        directional, spot = light_classes(pyrender)
        down = np.eye(4)
        down[2, 3] = 1.0
        before = cache.compiled
        self._shadows.skip = True
        self._modes.read_depth, self._modes.read_format = False, "none"
        self._modes.multisample = sample.antialias  # the framebuffer the views draw into
        if self.one_pass_labels and not sample.antialias:  # the programs the views draw with
            labeled = labeled_nodes(seg_map)
            bind_words(self._offscreen, self._words, len(labeled))
            self._modes.shaded_labels = slot_colors(seg_map, labeled)
            cache.label_outputs = True
        try:
            for n_directional, n_spot, n_point in counts:
                lights = (
                    [directional(intensity=1.0) for _ in range(n_directional)]
                    + [spot(intensity=1.0) for _ in range(n_spot)]
                    + [pyrender.PointLight(intensity=1.0) for _ in range(n_point)]
                )
                for light, texture in zip(
                    lights, self._shadow_maps.lend(n_directional + n_spot), strict=False
                ):  # point lights come last and have no shadow map
                    light.shadow_texture = texture
                nodes = [scene.add(light, pose=down) for light in lights]
                cache.light_counts = (n_directional, n_spot, n_point)
                self._offscreen.render(scene, flags=flags)
                for node in nodes:
                    scene.remove_node(node)
                release_free_heap()  # each compile leaves tens of MiB of freed heap
        finally:
            self._shadows.skip = False
            self._modes.read_depth, self._modes.read_format = True, "rgb"
            self._modes.multisample = True
            self._modes.shaded_labels = None
            cache.label_outputs = False
            self._shadows.forget()  # the real scene's maps were taken out of the context
        self._warmed |= cache.materials
        self.programs_warmed += cache.compiled - before

    def _background(self, sample: SceneSample, view: CameraView) -> np.ndarray:
        """(H, W, 3) uint8 background of ``sample`` at ``view``'s size, made once for the views
        of a scene that share it."""
        cached = self._backdrop
        shape = (view.height, view.width)
        if cached is None or cached[0] is not sample or cached[1].shape[:2] != shape:
            image = background_image(sample.background_texture, view.width, view.height)
            self._backdrop = cached = (sample, image)
        return cached[1]

    def _camera(self, view: CameraView):
        # simgen's K has pixel centres at integer coordinates; OpenGL puts them at i + 0.5.
        K = view.K
        return self._pyrender.IntrinsicsCamera(
            fx=K[0, 0],
            fy=K[1, 1],
            cx=K[0, 2] + 0.5,
            cy=K[1, 2] + 0.5,
            znear=view.znear,
            zfar=view.zfar,
        )

    def render(
        self,
        sample: SceneSample,
        view_index: int,
        *,
        color: bool = True,
        depth: bool = True,
        labels: bool = True,
    ) -> RenderOutput:
        """Render one view: the shaded pass (skipped when ``color=False``; depth read only
        when ``depth``), then, when ``labels``, the label pass: the instance map and the full
        silhouettes of the labeled objects (kept for those that are visible). ``labels=False``
        (the renderer-only baseline of the benchmarks) returns ``instance_ids=None``."""
        from simgen.geometry import OPENGL_FROM_OPENCV

        pyrender = self._pyrender
        view = sample.views[view_index]
        renderer = self._renderer(view.width, view.height)
        self._modes.nearest_first = self.nearest_first
        if self._cached is None or self._cached[0] is not sample:
            scene, seg_map = self._build(sample)
            self._cached = (sample, scene, seg_map, None)
        _, scene, seg_map, camera_node = self._cached
        if camera_node is not None:
            scene.remove_node(camera_node)
        camera_node = scene.add(self._camera(view), pose=view.pose @ OPENGL_FROM_OPENCV)
        self._cached = (sample, scene, seg_map, camera_node)

        labeled = labeled_nodes(seg_map)
        one_pass = color and labels and self.one_pass_labels and not sample.antialias
        rgb = depth_out = ids = words = None
        if color:
            flags = pyrender.RenderFlags.NONE
            if sample.shadows:
                flags |= (
                    pyrender.RenderFlags.SHADOWS_DIRECTIONAL | pyrender.RenderFlags.SHADOWS_SPOT
                )
            self._modes.read_depth, self._modes.multisample = depth, sample.antialias
            limits = light_limits(renderer, flags)
            program_cache(renderer).light_counts = (
                (
                    min(len(scene.directional_light_nodes), limits[0]),
                    min(len(scene.spot_light_nodes), limits[1]),
                    min(len(scene.point_light_nodes), limits[2]),
                )
                if self.constant_light_loops
                else None
            )
            if one_pass:
                bind_words(renderer, self._words, len(labeled))
                self._modes.shaded_labels = slot_colors(seg_map, labeled)
                program_cache(renderer).label_outputs = True
            try:
                if sample.background_texture is not None and sample.background_composite:
                    rgba, depth_image = renderer.render(
                        scene, flags=flags | pyrender.RenderFlags.RGBA
                    )
                    rgb = composite_background(rgba, self._background(sample, view))
                else:
                    rgb, depth_image = renderer.render(scene, flags=flags)
            finally:
                self._modes.read_depth, self._modes.multisample = True, True
                self._modes.shaded_labels = None
                program_cache(renderer).label_outputs = False
            rgb = np.ascontiguousarray(rgb)
            if depth:
                depth_out = np.ascontiguousarray(depth_image, dtype=np.float32)
            if one_pass:
                ids, words = self._modes.label_ids.astype(np.int32), self._words.read()
                self._modes.label_ids = None
            if self.warm_light_counts and self.constant_light_loops:
                self._warm_up(sample, flags)
        if not labels:
            return RenderOutput(rgb=rgb, depth=depth_out, instance_ids=None)
        if not one_pass:
            ids, words = label_pass(renderer, self._modes, self._words, scene, seg_map, labeled)
        present = set(np.flatnonzero(np.bincount(ids.ravel())).tolist())
        return RenderOutput(
            rgb=rgb,
            depth=depth_out,
            instance_ids=ids,
            amodal_words=words,
            amodal_slots={
                seg_map[node]: k for k, node in enumerate(labeled) if seg_map[node] in present
            },
        )


def labeled_nodes(seg_map: dict) -> list:
    """The nodes of ``seg_map`` (node -> instance id, 0 for unlabeled) that get a silhouette
    bit, in the map's order (slot ``k`` is the ``k``-th)."""
    return [node for node, value in seg_map.items() if value]


def _has_obj_material(mesh) -> bool:
    """Whether a ``trimesh.Trimesh`` carries a texture with an OBJ (``.mtl``) material."""
    from trimesh.visual.material import SimpleMaterial

    return mesh.visual.kind == "texture" and isinstance(mesh.visual.material, SimpleMaterial)
