"""Logging: module loggers under ``simgen``, configured once by the command line.

Every module logs through ``logging.getLogger(__name__)``. Library code never configures
logging; :func:`configure` (called by ``simgen`` with ``--verbose`` or ``--quiet``) puts one
handler on the ``simgen`` logger that writes ``simgen: LEVEL: message`` lines to stderr, and
exports the level in :data:`LEVEL_ENV` so that worker processes, which are spawned, log at the
same level (:func:`configure_from_env`).

A degradation (something skipped or done a slower or less exact way) is logged once per process
with what it costs, through :func:`log_once`.
"""

from __future__ import annotations

import logging
import os
import sys

LEVEL_ENV = "SIMGEN_LOG_LEVEL"
"""Environment variable carrying the command line's log level name to worker processes."""

LEVELS = {"quiet": logging.ERROR, "default": logging.WARNING, "verbose": logging.DEBUG}
"""Log level of each command-line verbosity."""

_FORMAT = "simgen: %(levelname)s: %(message)s"
_logged_once: set[str] = set()


def configure(level: int) -> None:
    """Send ``simgen`` log records at ``level`` and above to stderr, one line each, and export
    the level to processes started from now on (:data:`LEVEL_ENV`). Calling it again replaces
    the handler it installed."""
    logger = logging.getLogger("simgen")
    for handler in list(logger.handlers):
        if getattr(handler, "_simgen", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler._simgen = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    os.environ[LEVEL_ENV] = logging.getLevelName(level)


def configure_from_env() -> None:
    """In a worker process: :func:`configure` with the level the parent exported, if any."""
    name = os.environ.get(LEVEL_ENV)
    if name:
        level = logging.getLevelName(name)
        if isinstance(level, int):
            configure(level)


def log_once(logger: logging.Logger, key: str, level: int, message: str, *args: object) -> bool:
    """Log ``message % args`` at ``level`` the first time ``key`` is seen in this process.

    Returns:
        Whether it was logged now.
    """
    if key in _logged_once:
        return False
    _logged_once.add(key)
    logger.log(level, message, *args)
    return True
