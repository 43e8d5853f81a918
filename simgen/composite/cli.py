"""``simgen composite``: the command-line face of :mod:`simgen.composite`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def parse_mapping(items: list[str] | None, *, source: str = "--map") -> dict[str, str]:
    """``["OLD=NEW", ...]`` (also comma-separated) -> ``{OLD: NEW}``; errors name ``source``.

    Raises:
        SimgenError: an item without ``=``.
    """
    from simgen.errors import SimgenError

    mapping: dict[str, str] = {}
    for item in items or ():
        for part in (p.strip() for p in item.split(",")):
            if not part:
                continue
            if "=" not in part:
                raise SimgenError("expected OLD=NEW", file=source, field=part)
            old, new = (s.strip() for s in part.split("=", 1))
            mapping[old] = new
    return mapping


def register(app: typer.Typer, with_progress) -> None:
    """Add the ``composite`` command; ``with_progress(description, quiet, run)`` drives the bar."""

    @app.command()
    def composite(
        instances: Annotated[
            Path,
            typer.Option(
                "--instances",
                help="Instances to paste: COCO dataset folder or JSON file, or a folder of "
                "images with mask PNGs (CLASS/.../NAME.jpg + NAME.png).",
            ),
        ],
        backgrounds: Annotated[
            Path, typer.Option("--backgrounds", help="Folder of defect-free background images.")
        ],
        out: Annotated[Path, typer.Option("--out", "-o", help="Dataset directory.")],
        num: Annotated[int | None, typer.Option("--num", "-n", help="Number of images.")] = None,
        seed: Annotated[int | None, typer.Option("--seed", "-s", help="Root seed.")] = None,
        config: Annotated[
            Path | None, typer.Option("--config", "-c", help="Composite config YAML.")
        ] = None,
        overrides: Annotated[
            list[str] | None,
            typer.Option("--set", help="Override a config value: key.path=value (repeatable)."),
        ] = None,
        mapping: Annotated[
            list[str] | None,
            typer.Option("--map", help="Rename source classes: OLD=NEW (repeatable)."),
        ] = None,
        formats: Annotated[
            list[str] | None,
            typer.Option("--format", "-f", help="Extra formats: yolo, yolo-seg."),
        ] = None,
        coco_polygons: Annotated[
            bool, typer.Option("--coco-polygons", help="COCO segmentations as polygons, not RLE.")
        ] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    ) -> None:
        """Paste real instances onto defect-free backgrounds: exact masks, COCO + records."""
        from simgen.composite.config import load_composite_config
        from simgen.composite.run import composite_dataset

        items = list(overrides or [])
        if num is not None:
            items.append(f"num_images={num}")
        if seed is not None:
            items.append(f"seed={seed}")
        settings = load_composite_config(config, items)
        summary = with_progress(
            "composite",
            quiet,
            lambda progress: composite_dataset(
                settings,
                instances,
                backgrounds,
                out,
                mapping=parse_mapping(mapping),
                formats=formats or (),
                coco_polygons=coco_polygons,
                progress=progress,
            ),
        )
        instances_line = ", ".join(f"{k} {v}" for k, v in sorted(summary.instances.items()))
        typer.echo(
            f"simgen composite → {summary.out_dir}: {summary.images} images "
            f"({summary.composed} new, {summary.resumed} resumed, "
            f"{summary.images_per_second:.1f} img/s) from {summary.source_instances} source "
            f"instances on {summary.backgrounds} backgrounds; instances: {instances_line}; "
            f"not placed: {summary.not_placed}; flagged ignore: {summary.ignored}",
            err=True,
        )
