"""Shader programs compiled up front (every light count, the same pixels, nothing compiled
later) and programs that keep their uniforms from scene to scene. Each test makes its own
renderer (deleting a pyrender context ends the EGL display that every other live context of the
process uses, so none may be alive beside it)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from simgen.assets import load_entry
from simgen.config import LightsConfig, ObjectEntry
from simgen.randomize.lighting import reachable_light_counts
from simgen.render.pyrender_egl import PyrenderRenderer
from simgen.render.shadows import LIGHT_COUNTS_DEFINE
from tests.helpers import (
    CUBE,
    LIGHT_SETS,
    H,
    W,
    make_light,
    make_object,
    make_sample,
    make_view,
)


@pytest.fixture(scope="module")
def assets():
    return [
        load_entry(ObjectEntry(category="cube", primitive="box", size=CUBE)),
        load_entry(ObjectEntry(category="ball", primitive="sphere", size=0.05)),
    ]


@pytest.mark.parametrize(("shadows", "antialias"), [(True, True), (False, True), (True, False)])
def test_warm_up_compiles_every_light_count_and_changes_no_pixel(assets, shadows, antialias):
    # A renderer that compiles its programs up front draws the same pixels (also for a
    # scene's second view, whose shadow maps the warm-up took out of the context) and
    # compiles no program afterwards (single-sampled: the programs that also draw labels).
    objects = [
        make_object(1, 0, (0.0, 0.0, CUBE / 2)),
        make_object(2, 1, (0.12, 0.05, 0.025), "ball"),
    ]
    views = [make_view((0.3, -0.6, 0.7)), make_view((-0.5, 0.2, 0.6))]
    samples = [
        dataclasses.replace(
            make_sample(objects, [make_light(k, e) for k, e in lights], views, shadows=shadows),
            antialias=antialias,
        )
        for lights in LIGHT_SETS
    ]
    counts = reachable_light_counts(LightsConfig(count=(1, 3)))
    outputs = {}
    for warm in (False, True):
        with PyrenderRenderer(assets) as fresh:
            fresh.warm_light_counts = counts if warm else ()
            outputs[warm] = [fresh.render(s, v) for s in samples for v in range(len(views))]
            cache = fresh._offscreen._renderer._program_cache
            specialized = {k for k in cache._program_cache if LIGHT_COUNTS_DEFINE in str(k)}
        # One kind of program per light count; two single-sampled: the ground has no
        # silhouette bit and draws with programs that set none.
        kinds = 1 if antialias else 2
        assert len(cache.materials) == kinds
        if warm:
            assert fresh.programs_warmed == kinds * (len(counts) - 1)  # the first view's kinds
            assert len(specialized) == kinds * len(counts)  # and no view compiled another
    for cold, hot in zip(outputs[False], outputs[True], strict=True):
        np.testing.assert_array_equal(cold.rgb, hot.rgb)
        np.testing.assert_array_equal(cold.instance_ids, hot.instance_ids)
        assert [w.tobytes() for w in cold.amodal_words] == [w.tobytes() for w in hot.amodal_words]


def test_warm_up_is_skipped_when_the_programs_would_not_fit(assets):
    objects = [make_object(1, 0, (0.0, 0.0, CUBE / 2))]
    sample = make_sample(
        objects, [make_light("directional", (0.6, 0.2, 1.0))], [make_view((0.3, -0.6, 0.7))]
    )
    with PyrenderRenderer(assets) as fresh:
        fresh.warm_light_counts = reachable_light_counts(LightsConfig(count=(1, 3)))  # 19
        fresh._renderer(W, H)._renderer._program_cache.max_specialized = 18
        first = fresh.render(sample, 0).rgb
        assert fresh.programs_warmed == 0
        fresh._renderer(W, H)._renderer._program_cache.max_specialized = 19
        fresh._warmed.clear()
        np.testing.assert_array_equal(fresh.render(sample, 0).rgb, first)
        assert fresh.programs_warmed == 18


def _varied_sample(k: int):
    """Scene ``k`` of a sequence whose lights, colours, materials, ambient and camera all change
    from one scene to the next (every uniform a pass sets gets a new value)."""
    lights = [
        dataclasses.replace(
            make_light(kind, eye), color=(1.0, 0.9 - 0.1 * k, 0.8), intensity=2.0 + k
        )
        for kind, eye in LIGHT_SETS[k % len(LIGHT_SETS)]
    ]
    objects = [
        dataclasses.replace(
            make_object(1, 0, (0.05 * k, 0.0, CUBE / 2)),
            color=(0.2 + 0.2 * k, 0.5, 0.3, 1.0),
            roughness=0.3 + 0.1 * k,
        ),
        make_object(2, 1, (-0.1, 0.05 * k, 0.025), "ball"),
    ]
    sample = make_sample(objects, lights, [make_view((0.1 * k, -0.7, 0.9))], shadows=k % 2 == 0)
    return dataclasses.replace(sample, ambient=0.1 + 0.05 * k)


@pytest.mark.parametrize("order", [(0, 1, 2, 3), (3, 2, 1, 0), (1, 3, 0, 2)])
def test_a_scene_renders_the_same_after_other_scenes_as_in_a_fresh_renderer(assets, order):
    # Programs keep their uniforms between draws and passes, and the patched programs skip a
    # value they already hold: a scene drawn after others (other lights, colours, camera,
    # ambient, shadows on or off) must still get every value of its own.
    fresh = {}
    for k in order:
        with PyrenderRenderer(assets) as alone:
            fresh[k] = alone.render(_varied_sample(k), 0)
    with PyrenderRenderer(assets) as shared:
        for k in order * 2:
            out = shared.render(_varied_sample(k), 0)
            np.testing.assert_array_equal(out.rgb, fresh[k].rgb)
            np.testing.assert_array_equal(out.instance_ids, fresh[k].instance_ids)
