"""Batch production: any worker count gives the same bytes; kills, crashes and failures."""

from __future__ import annotations

import filecmp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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
from tests.conftest import SMALL

NUM = 16
SEED = 7
OVERRIDES = [f"num_images={NUM}", f"seed={SEED}", *SMALL]


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def assert_same_tree(a: Path, b: Path) -> None:
    """Every file of ``a`` and ``b`` exists in both and has the same bytes."""
    files = _files(a)
    assert files == _files(b)
    _match, mismatch, errors = filecmp.cmpfiles(a, b, files, shallow=False)
    assert not mismatch and not errors, (mismatch, errors)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The uninterrupted single-process run."""
    out = tmp_path_factory.mktemp("reference")
    summary = render_dataset(load_config(None, OVERRIDES), out)
    assert summary.complete and summary.rendered == NUM
    return out


def test_two_workers_with_recycling_are_byte_identical(reference, tmp_path):
    out = tmp_path / "two"
    progress = []
    summary = render_dataset(
        load_config(None, OVERRIDES),
        out,
        workers=2,
        recycle_after=1,
        scenes_per_shard=1,
        progress=lambda done, total: progress.append((done, total)),
    )
    assert summary.complete and summary.rendered == NUM and summary.crashes == 0
    assert progress[0] == (0, NUM) and progress[-1] == (NUM, NUM)
    assert [d for d, _ in progress] == list(range(NUM + 1))
    assert sum(summary.instances.values()) > 0
    assert_same_tree(out, reference)


def test_sigkill_mid_run_then_rerun_is_identical(reference, tmp_path):
    out = tmp_path / "killed"
    command = [
        sys.executable,
        "-m",
        "simgen.cli",
        "render",
        "--out",
        str(out),
        "--num",
        str(NUM),
        "--seed",
        str(SEED),
        "--workers",
        "2",
        "--quiet",
        *(x for o in SMALL for x in ("--set", o)),
    ]
    env = {**os.environ, "PYOPENGL_PLATFORM": "egl"}
    proc = subprocess.Popen(
        command,
        env=env,
        start_new_session=True,  # its own process group: the workers die with it
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    records = out / "records"
    while time.monotonic() < deadline and proc.poll() is None:
        if records.is_dir() and len(list(records.glob("*.json"))) >= 3:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    finished = len(list(records.glob("*.json")))
    assert 3 <= finished < NUM
    assert not (out / "annotations.json").exists()

    rerun = subprocess.run(command, env=env, capture_output=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    assert not list(out.rglob("*.tmp-*"))
    assert_same_tree(out, reference)


def test_worker_asks_its_heap_trimmer_after_every_scene(reference, tmp_path, monkeypatch):
    import simgen.produce.workers

    calls = []

    class Counting(simgen.produce.workers.HeapTrimmer):
        def after_scene(self) -> bool:
            calls.append(1)
            return super().after_scene()

    monkeypatch.setattr(simgen.produce.workers, "HeapTrimmer", Counting)
    config = load_config(None, OVERRIDES)
    summary = render_dataset(config, tmp_path / "trimmed")
    assert summary.complete and len(calls) == NUM // config.views_per_scene
    assert_same_tree(tmp_path / "trimmed", reference)


def test_warm_shaders_change_no_byte(reference, tmp_path):
    # Compiling every program up front (a worker with many scenes does) gives the same files.
    summary = render_dataset(load_config(None, OVERRIDES), tmp_path / "warm", warm_shaders=True)
    assert summary.complete
    assert_same_tree(tmp_path / "warm", reference)


def test_worker_crash_is_retried_and_output_identical(reference, tmp_path, monkeypatch):
    markers = tmp_path / "markers"
    markers.mkdir()
    monkeypatch.setenv("SIMGEN_FAULT", f"crash:2:{markers}")  # scene 2 kills its worker once
    out = tmp_path / "crashed"
    summary = render_dataset(load_config(None, OVERRIDES), out, workers=2)
    assert summary.crashes == 1 and summary.retries == 1 and summary.complete
    assert summary.crash_reports == [
        f"worker process died (exit code -9) while rendering scene 2 (seed {SEED}); retrying it"
    ]
    assert (markers / "fault-2").is_file()
    assert_same_tree(out, reference)


def test_scene_failing_repeatedly_is_reported_then_resumed(reference, tmp_path, monkeypatch):
    from simgen.cli import main

    out = tmp_path / "failing"
    args = ["render", "--out", str(out), "--num", str(NUM), "--seed", str(SEED), "-q"]
    args += [x for o in SMALL for x in ("--set", o)]
    monkeypatch.setenv("SIMGEN_FAULT", "raise:1")
    summary = render_dataset(load_config(None, OVERRIDES), out, max_attempts=2)
    assert [(f.scene_index, f.seed, f.attempts) for f in summary.failures] == [(1, SEED, 2)]
    assert "injected fault in scene 1" in summary.failures[0].describe()
    assert summary.rendered == NUM - 4 and not (out / "annotations.json").exists()
    assert main(args) == 1  # the command exits non-zero while a scene keeps failing

    monkeypatch.delenv("SIMGEN_FAULT")
    assert main(args) == 0
    assert_same_tree(out, reference)


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

    config = load_config(None, OVERRIDES)
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

    config = load_config(None, [f"seed={SEED}"])
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

    config = load_config(None, OVERRIDES)
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
        render_dataset(load_config(None, OVERRIDES), tmp_path / "out", backend="ray")
    assert not (tmp_path / "out").exists()
