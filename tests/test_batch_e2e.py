"""Batch production across processes: two workers, a SIGKILLed command line run, a crashed
worker; each ends byte-identical to the single-process run. Slow: every test starts processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from simgen.config import load_config
from simgen.produce.runner import render_dataset
from tests.helpers import BATCH_NUM, BATCH_OVERRIDES, BATCH_SEED, SMALL, assert_same_tree

pytestmark = pytest.mark.slow


def test_two_workers_with_recycling_are_byte_identical(batch_reference, tmp_path):
    out = tmp_path / "two"
    progress = []
    summary = render_dataset(
        load_config(None, BATCH_OVERRIDES),
        out,
        workers=2,
        recycle_after=1,
        scenes_per_shard=1,
        progress=lambda done, total: progress.append((done, total)),
    )
    assert summary.complete and summary.rendered == BATCH_NUM and summary.crashes == 0
    assert progress[0] == (0, BATCH_NUM) and progress[-1] == (BATCH_NUM, BATCH_NUM)
    assert [d for d, _ in progress] == list(range(BATCH_NUM + 1))
    assert sum(summary.instances.values()) > 0
    assert_same_tree(out, batch_reference)


def test_sigkill_mid_run_then_rerun_is_identical(batch_reference, tmp_path):
    out = tmp_path / "killed"
    command = [
        sys.executable,
        "-m",
        "simgen.cli",
        "render",
        "--out",
        str(out),
        "--num",
        str(BATCH_NUM),
        "--seed",
        str(BATCH_SEED),
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
    assert 3 <= finished < BATCH_NUM
    assert not (out / "annotations.json").exists()

    rerun = subprocess.run(command, env=env, capture_output=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    assert not list(out.rglob("*.tmp-*"))
    assert_same_tree(out, batch_reference)


def test_worker_crash_is_retried_and_output_identical(batch_reference, tmp_path, monkeypatch):
    markers = tmp_path / "markers"
    markers.mkdir()
    monkeypatch.setenv("SIMGEN_FAULT", f"crash:2:{markers}")  # scene 2 kills its worker once
    out = tmp_path / "crashed"
    summary = render_dataset(load_config(None, BATCH_OVERRIDES), out, workers=2)
    assert summary.crashes == 1 and summary.retries == 1 and summary.complete
    assert summary.crash_reports == [
        "worker process died (exit code -9) while rendering scene 2"
        f" (seed {BATCH_SEED}); retrying it"
    ]
    assert (markers / "fault-2").is_file()
    assert_same_tree(out, batch_reference)
