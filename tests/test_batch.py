"""Batch production: shards and the retry policy, a failing scene, the physics helper process;
in-process variants give the same bytes. Runs across worker processes: test_batch_e2e.py."""

from __future__ import annotations

import subprocess
import sys

import pytest

from simgen.config import load_config
from simgen.produce.runner import render_dataset
from simgen.produce.shards import (
    AttemptBook,
    SceneWork,
    Shard,
    ShardQueue,
    default_shard_size,
    make_shards,
    pending_views,
)
from tests.helpers import BATCH_NUM, BATCH_OVERRIDES, BATCH_SEED, SMALL, assert_same_tree


def test_worker_asks_its_heap_trimmer_after_every_scene(batch_reference, tmp_path, monkeypatch):
    import simgen.produce.workers

    calls = []

    class Counting(simgen.produce.workers.HeapTrimmer):
        def after_scene(self) -> bool:
            calls.append(1)
            return super().after_scene()

    monkeypatch.setattr(simgen.produce.workers, "HeapTrimmer", Counting)
    config = load_config(None, BATCH_OVERRIDES)
    summary = render_dataset(config, tmp_path / "trimmed")
    assert summary.complete and len(calls) == BATCH_NUM // config.views_per_scene
    assert_same_tree(tmp_path / "trimmed", batch_reference)


def test_warm_shaders_change_no_byte(batch_reference, tmp_path):
    # Compiling every program up front (a worker with many scenes does) gives the same files.
    summary = render_dataset(
        load_config(None, BATCH_OVERRIDES), tmp_path / "warm", warm_shaders=True
    )
    assert summary.complete
    assert_same_tree(tmp_path / "warm", batch_reference)


def test_scene_failing_repeatedly_is_reported_then_resumed(batch_reference, tmp_path, monkeypatch):
    from simgen.cli import main

    out = tmp_path / "failing"
    args = ["render", "--out", str(out), "--num", str(BATCH_NUM), "--seed", str(BATCH_SEED), "-q"]
    args += [x for o in SMALL for x in ("--set", o)]
    monkeypatch.setenv("SIMGEN_FAULT", "raise:1")
    summary = render_dataset(load_config(None, BATCH_OVERRIDES), out, max_attempts=2)
    assert [(f.scene_index, f.seed, f.attempts) for f in summary.failures] == [(1, BATCH_SEED, 2)]
    assert "injected fault in scene 1" in summary.failures[0].describe()
    assert summary.rendered == BATCH_NUM - 4 and not (out / "annotations.json").exists()
    assert main(args) == 1  # the command exits non-zero while a scene keeps failing

    monkeypatch.delenv("SIMGEN_FAULT")
    assert main(args) == 0
    assert_same_tree(out, batch_reference)


def test_make_shards_fixed_ranges():
    pending = {0: [1, 3], 1: [0], 5: [2, 0]}
    shards = make_shards(pending, 2)
    assert [(s.shard_id, s.start, s.stop) for s in shards] == [(0, 0, 2), (2, 4, 6)]
    assert shards[0].scenes == (SceneWork(0, (1, 3)), SceneWork(1, (0,)))
    assert shards[1].scenes == (SceneWork(5, (0, 2)),)
    assert shards[0].images == 3
    assert default_shard_size(1000, 2) == 16 and default_shard_size(3, 2) == 1
    assert default_shard_size(3, 1) == 16


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_queue_hands_out_shrinking_pieces_at_the_end(workers):
    pending = {j: [0, 1] for j in range(48)}
    queue = ShardQueue(make_shards(pending, 8), AttemptBook(seed=0, max_attempts=1))
    pieces = []
    while len(queue):
        pieces.append(queue.pop(workers))
    sizes = [len(p.scenes) for p in pieces]
    # every scene exactly once, in order, each piece inside its shard's range
    assert [w.scene_index for p in pieces for w in p.scenes] == list(range(48))
    assert all(p.start <= w.scene_index < p.stop for p in pieces for w in p.scenes)
    assert all(p.shard_id == p.start // 8 for p in pieces)
    if workers == 1:
        assert sizes == [8] * 6
        return
    left = 48
    for size in sizes:  # at most 1 / (2 * workers) of what was left, whole shards early on
        assert size == min(8 - (48 - left) % 8, -(-left // (2 * workers)))
        left -= size
    assert sizes[0] == 8 and sizes[-workers:] == [1] * workers


def test_pending_views_reads_records(tmp_path):
    (tmp_path / "records").mkdir()
    for index in (0, 1, 5):
        (tmp_path / "records" / f"{index:06d}.json").write_text("{}")
    assert pending_views(tmp_path, 8, 4) == {0: [2, 3], 1: [0, 2, 3]}


def test_shard_queue_retry_policy():
    book = AttemptBook(seed=3, max_attempts=2)
    shard = Shard(0, 0, 3, (SceneWork(0, (0,)), SceneWork(1, (0,)), SceneWork(2, (0,))))
    queue = ShardQueue([shard], book)
    running = queue.pop()
    # The worker reported scene 0 and died on scene 1: scene 1 is charged, 1 and 2 requeued.
    queue.shard_crashed(running, [0], "died")
    again = queue.pop()
    assert [s.scene_index for s in again.scenes] == [1, 2] and queue.crashes == 1
    queue.shard_crashed(again, [], "died again")  # second failure of scene 1: given up
    last = queue.pop()
    assert [s.scene_index for s in last.scenes] == [2] and not len(queue)
    queue.scene_failed(last, 2, "boom")  # first failure of scene 2: retried alone
    assert [s.scene_index for s in queue.pop().scenes] == [2]
    assert [(f.scene_index, f.seed, f.attempts) for f in book.sorted_failures()] == [(1, 3, 2)]


def test_bad_worker_options_are_rejected(tmp_path):
    from simgen.errors import SimgenError

    config = load_config(None, BATCH_OVERRIDES)
    with pytest.raises(SimgenError, match="--workers"):
        render_dataset(config, tmp_path / "a", workers=0)
    with pytest.raises(SimgenError, match="--recycle-after"):
        render_dataset(config, tmp_path / "b", recycle_after=0)
    with pytest.raises(SimgenError, match="unknown backend"):
        render_dataset(config, tmp_path / "c", backend="slurm")
    assert not (tmp_path / "a").exists()


def test_collision_models_settle_like_the_assets_they_stand_for():
    """A physics helper gets pickled :class:`CollisionModel` objects, not the meshes: same poses,
    and the default catalog's assets that Bullet has no shape for keep their hull."""
    import pickle

    import numpy as np

    from simgen.assets import load_catalog
    from simgen.physics.collision import collision_models
    from simgen.physics.world import PhysicsWorld
    from simgen.randomize import sample_scene

    config = load_config(None, [f"seed={BATCH_SEED}"])
    assets = load_catalog(config)
    models = pickle.loads(pickle.dumps(collision_models(assets)))
    for asset, model in zip(assets, models, strict=True):
        assert np.array_equal(model.extents, asset.extents)
        if model.shape == "hull":
            assert np.array_equal(model.hull_vertices, asset.hull_vertices)
        else:
            assert len(model.hull_vertices) == 0
    assert {m.shape for m in models} == {"box", "capsule", "cylinder", "sphere", "hull"}
    masses = [1.0] * len(assets)
    with PhysicsWorld() as world:
        for j in range(3):
            sample = sample_scene(config, assets, j)
            want = world.settle(sample, assets, masses, config.physics)
            got = world.settle(sample, models, masses, config.physics)
            assert (got.steps, got.at_rest) == (want.steps, want.at_rest)
            for a, b in zip(got.sample.objects, want.sample.objects, strict=True):
                assert np.array_equal(a.pose, b.pose)


def test_physics_process_matches_inline_physics_and_survives_a_kill():
    import numpy as np

    from simgen.assets import load_catalog
    from simgen.produce.physics_helper import InlinePhysics, PhysicsProcess
    from simgen.randomize import sample_scene

    config = load_config(None, BATCH_OVERRIDES)
    assets = load_catalog(config)
    samples = [sample_scene(config, assets, j) for j in range(6)]
    inline = InlinePhysics(config, assets)
    expected = []
    for sample in samples:
        inline.submit(sample)
        expected.append(inline.result())
    inline.close()

    helper = PhysicsProcess(config, assets, recycle_after=3)
    try:
        for sample in samples[:3]:  # all to the first helper
            helper.submit(sample)
        got = {0: helper.result()}
        helper._generations[0].process.kill()  # dies on sample 1, sample 2 queued behind it
        with pytest.raises(RuntimeError, match="physics process died"):
            helper.result()
        helper.submit(samples[3])  # sample 2 went to a new helper first
        helper.submit(samples[4])
        got.update({2: helper.result(), 3: helper.result(), 4: helper.result()})
        helper.submit(samples[5])  # the second helper settled three: a third one starts
        got[5] = helper.result()
        assert helper.started == 3
    finally:
        helper.close()
    for index, result in got.items():
        want = expected[index]
        assert result.steps == want.steps and result.at_rest == want.at_rest
        for a, b in zip(result.sample.objects, want.sample.objects, strict=True):
            assert np.array_equal(a.pose, b.pose)


def test_spawned_helpers_import_only_what_they_need():
    # A spawned process re-runs the `simgen` console script (simgen.console); a physics helper
    # then imports its entry point and unpickles samples and collision models.
    code = (
        "import sys, simgen.console, simgen.produce.physics_helper, simgen.physics.world\n"
        "import simgen.scene\n"
        "heavy = ['simgen.config', 'simgen.cli', 'pydantic', 'typer', 'trimesh', 'pyrender']\n"
        "print([m for m in heavy if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_ray_backend_without_ray_fails_before_writing(tmp_path, monkeypatch):
    from simgen.errors import SimgenError

    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail
    with pytest.raises(SimgenError, match=r"--backend: the Ray backend needs Ray"):
        render_dataset(load_config(None, BATCH_OVERRIDES), tmp_path / "out", backend="ray")
    assert not (tmp_path / "out").exists()
