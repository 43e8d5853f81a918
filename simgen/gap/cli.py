"""``simgen gap``: the command-line face of :mod:`simgen.gap`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the ``gap`` command to the simgen app."""

    @app.command()
    def gap(
        train: Annotated[
            Path, typer.Option("--train", help="Synthetic dataset (simgen folder or COCO file).")
        ],
        test: Annotated[
            Path,
            typer.Option("--test", help="Real test set: COCO file, dataset folder or mask folder."),
        ],
        out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
        real_train: Annotated[
            Path | None, typer.Option("--real-train", help="Real training set (adds rows).")
        ] = None,
        minutes: Annotated[float, typer.Option(help="Training budget per row.")] = 6.0,
        steps: Annotated[
            int | None,
            typer.Option(
                min=1,
                help="Train each row for this many steps instead of --minutes (the same "
                "training on any machine).",
            ),
        ] = None,
        device: Annotated[
            str | None, typer.Option(help="cpu or cuda (default: cuda when available).")
        ] = None,
        size: Annotated[int, typer.Option(help="Square input size in pixels.")] = 256,
        boxes: Annotated[
            str, typer.Option(help="modal (visible bbox) or amodal (bbox_amodal).")
        ] = "modal",
        threads: Annotated[int | None, typer.Option(help="CPU threads for torch.")] = None,
        seed: Annotated[int, typer.Option(help="Seed for model init and batches.")] = 0,
        rows: Annotated[
            str | None,
            typer.Option(
                "--rows",
                help="Comma-separated rows to train: synthetic, real, synthetic+real, "
                "synthetic->real (default: all the inputs allow).",
            ),
        ] = None,
        stock_ignore: Annotated[
            bool,
            typer.Option(
                "--stock-ignore",
                help="Score ignore-flagged instances like stock pycocotools (as misses).",
            ),
        ] = False,
    ) -> None:
        """Train a small detector on synthetic data and score it on real photographs."""
        from simgen.errors import SimgenError
        from simgen.gap.report import print_table
        from simgen.gap.run import run_gap

        if boxes not in ("modal", "amodal"):
            raise SimgenError("expected modal or amodal", file="--boxes", field=boxes)
        if device not in (None, "cpu", "cuda"):
            raise SimgenError("expected cpu or cuda", file="--device", field=device)
        try:
            from simgen.gap import import_torch

            import_torch()
        except ImportError as exc:
            raise SimgenError(str(exc).splitlines()[0], file="torch") from None
        result = run_gap(
            train,
            test,
            out,
            real_train=real_train,
            minutes=minutes,
            steps=steps,
            device=device,
            size=size,
            boxes=boxes,
            seed=seed,
            threads=threads,
            honour_ignore=not stock_ignore,
            rows=None if rows is None else [r.strip() for r in rows.split(",") if r.strip()],
            log=lambda message: typer.echo(message, err=True),
        )
        print_table(result)
        typer.echo(f"wrote {out / 'gap.json'}", err=True)
