"""``python -m simgen.cli``: the ``simgen`` command line."""

from simgen.cli import run

run()
