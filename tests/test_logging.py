"""Logging: --verbose/--quiet set the level of every command, and degradations are logged."""

from __future__ import annotations

import logging

import pytest

from simgen.cli import main
from simgen.logs import LEVEL_ENV, configure, configure_from_env, log_once
from tests.helpers import SMALL

WARM_UP = "shader warm-up skipped"
UNSETTLED = "still moving after physics.max_steps=5"


def _render(tmp_path, *options: str) -> int:
    args = [*options, "render", "--out", str(tmp_path / "out"), "--num", "4", "--quiet"]
    for item in [*SMALL, "physics.max_steps=5"]:
        args += ["--set", item]
    return main(args)


@pytest.mark.parametrize(
    ("options", "shown", "hidden"),
    [
        ((), [UNSETTLED], [WARM_UP]),
        (("--verbose",), [UNSETTLED, WARM_UP], []),
        (("-q",), [], [UNSETTLED, WARM_UP]),
    ],
)
def test_verbosity_decides_which_degradations_are_shown(tmp_path, capfd, options, shown, hidden):
    assert _render(tmp_path, *options) == 0
    err = capfd.readouterr().err
    for text in shown:
        assert text in err
    for text in hidden:
        assert text not in err
    for line in err.splitlines():
        if UNSETTLED in line:
            assert line.startswith("simgen: WARNING: 1 scene(s) still moving")


def test_verbose_and_quiet_together_are_refused(tmp_path, capfd):
    assert _render(tmp_path, "--verbose", "--quiet") == 2
    assert "--verbose/--quiet" in capfd.readouterr().err
    assert not (tmp_path / "out").exists()


def test_level_reaches_spawned_processes_through_the_environment(monkeypatch):
    monkeypatch.delenv(LEVEL_ENV, raising=False)
    configure(logging.ERROR)
    assert logging.getLogger("simgen").level == logging.ERROR
    import os

    assert os.environ[LEVEL_ENV] == "ERROR"
    monkeypatch.setenv(LEVEL_ENV, "DEBUG")
    configure_from_env()
    assert logging.getLogger("simgen").level == logging.DEBUG
    configure(logging.WARNING)


def test_log_once_logs_a_key_once(caplog):
    logger = logging.getLogger("test.simgen.logs")
    with caplog.at_level(logging.INFO, logger="test.simgen.logs"):
        assert log_once(logger, "test-once-key", logging.INFO, "costly %s", "thing")
        assert not log_once(logger, "test-once-key", logging.INFO, "costly %s", "thing")
    assert [r.getMessage() for r in caplog.records] == ["costly thing"]
