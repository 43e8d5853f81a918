"""One error type for bad input: it names the file and the field, on one line."""

from __future__ import annotations

from pathlib import Path


class SimgenError(Exception):
    """Bad input or an unusable output location.

    The message is always one line: ``FILE: FIELD: what is wrong``. The command line prints
    it and exits non-zero; library code raises it and never calls ``sys.exit``.

    Args:
        message: what is wrong, in a few words.
        file: the file (or pseudo-source such as ``--set``) the problem is in.
        field: dotted path of the offending field inside that file, if any.
    """

    def __init__(self, message: str, *, file: str | Path | None = None, field: str | None = None):
        self.message = " ".join(str(message).split())
        self.file = None if file is None else str(file)
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [p for p in (self.file, self.field) if p]
        return ": ".join([*parts, self.message])
