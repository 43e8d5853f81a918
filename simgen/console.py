"""The ``simgen`` console script's entry point, kept free of imports.

Worker and physics helper processes are started with ``spawn``, which runs the parent's main
script again in each of them; for the ``simgen`` command that script imports this module. The
command-line interface (typer, every subcommand's config models) is imported only when the
command itself runs, so spawned processes import just what their work needs.
"""

from __future__ import annotations


def run() -> None:
    """Run the ``simgen`` command line (:func:`simgen.cli.run`; exits with its status)."""
    from simgen.cli import run as cli_run

    cli_run()
