"""The Ray backend on a local Ray instance writes the same bytes as the local backend. Slow:
Ray starts its own processes."""

from __future__ import annotations

import pytest

from simgen.config import load_config
from simgen.produce.runner import render_dataset
from tests.helpers import SMALL, assert_same_tree

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow

OVERRIDES = ["num_images=8", "seed=9", *SMALL]


@pytest.fixture(scope="module")
def local_ray():
    if ray.is_initialized():  # pragma: no cover - another test left one running
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_backend_matches_local_backend(local_ray, tmp_path):
    local = tmp_path / "local"
    render_dataset(load_config(None, OVERRIDES), local)
    remote = tmp_path / "ray"
    seen = []
    summary = render_dataset(
        load_config(None, OVERRIDES),
        remote,
        backend="ray",
        workers=2,
        recycle_after=1,
        scenes_per_shard=1,
        progress=lambda done, total: seen.append(done),
    )
    assert summary.complete and summary.rendered == 8 and summary.backend == "ray"
    assert seen[0] == 0 and seen[-1] == 8
    assert_same_tree(remote, local)


def test_ray_backend_retries_a_crashed_task(local_ray, tmp_path, monkeypatch):
    markers = tmp_path / "markers"
    markers.mkdir()
    # Ray worker processes inherit the driver's environment when they start.
    monkeypatch.setenv("SIMGEN_FAULT", f"crash:1:{markers}")
    local_ray.shutdown()
    local_ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    out = tmp_path / "crashed"
    summary = render_dataset(load_config(None, OVERRIDES), out, backend="ray", workers=2)
    assert summary.complete and summary.crashes == 1 and summary.retries == 1
    assert (markers / "fault-1").is_file()
