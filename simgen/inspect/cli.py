"""The ``simgen validate``, ``preview``, ``stats`` and ``report`` commands.

``register(app)`` adds them to the ``simgen`` typer app. Unreadable input raises
:class:`~simgen.errors.SimgenError` (the app prints one line and exits with status 2);
``validate`` exits with status 1 when it finds errors (raising ``SystemExit(1)``) and 0 when
it finds only warnings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

DatasetArg = Annotated[
    Path,
    typer.Argument(help="A simgen dataset directory or a COCO JSON file.", show_default=False),
]
ImagesOpt = Annotated[
    Path | None,
    typer.Option(
        "--images",
        help="Folder of the images (default: the JSON's folder, then images/ beside it).",
    ),
]


def _write(path: Path, data: bytes) -> None:
    """Write ``data`` atomically, creating the parent folder."""
    from simgen.io import atomic_write_bytes

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)


def validate(
    coco_json: DatasetArg,
    images: ImagesOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON instead of lines.")
    ] = False,
    skip_files: Annotated[
        bool, typer.Option("--skip-files", help="Do not check image files on disk.")
    ] = False,
) -> None:
    """Check a COCO file: schema, ids, boxes and areas against masks, image files.

    Prints one line per problem (`error: annotation 17: ...`); exit status 1 on errors,
    0 with only warnings, 2 when the file cannot be read.
    """
    from simgen.inspect.dataset import open_dataset
    from simgen.inspect.validate import validate_dataset

    dataset = open_dataset(coco_json, images, strict=False)
    report = validate_dataset(dataset, check_files=not skip_files)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=1))
    else:
        for problem in report.problems:
            typer.echo(str(problem))
        typer.echo(report.summary())
    if report.errors:
        # SystemExit, not typer.Exit: simgen.cli.main runs the app in non-standalone mode and
        # drops the status typer returns there; SystemExit reaches the console script.
        raise SystemExit(1)


def preview(
    dataset: DatasetArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output PNG.")],
    n: Annotated[int, typer.Option("--n", "-n", help="Number of images.")] = 16,
    tile_width: Annotated[int, typer.Option(help="Width of each tile in pixels.")] = 320,
    images: ImagesOpt = None,
) -> None:
    """A contact sheet: images with masks, boxes, class names and ignore flags."""
    from simgen.inspect.dataset import open_dataset
    from simgen.inspect.preview import contact_sheet
    from simgen.io import encode_png

    sheet = contact_sheet(open_dataset(dataset, images), n=n, tile_width=tile_width)
    _write(out, encode_png(sheet))
    typer.echo(f"wrote {out} ({sheet.shape[1]}x{sheet.shape[0]})", err=True)


def _stats_table(first: dict[str, Any], second: dict[str, Any] | None, distances: dict) -> Any:
    """A rich table of the main numbers (and distances with a second dataset)."""
    from rich.table import Table

    from simgen.inspect.report import fmt

    caption = "TV: total variation distance; W1: 1-D Wasserstein distance" if second else None
    table = Table(title="simgen stats", caption=caption)
    table.add_column("statistic")
    table.add_column("dataset", justify="right")
    if second is not None:
        table.add_column("other", justify="right")
        table.add_column("distance", justify="right")
        table.add_column("metric")

    def row(label: str, key: str | None, a: Any, b: Any = None) -> None:
        cells = [label, fmt(a)]
        if second is not None:
            value = distances.get(key, {}).get("value") if key else None
            metric = distances.get(key, {}).get("short", "") if key else ""
            cells += [fmt(b), fmt(value), metric]
        table.add_row(*cells)

    s = second or {}
    row("images", None, first["images"], s.get("images"))
    row("instances", None, first["instances"], s.get("instances"))
    row("instances flagged ignore", None, first["ignored"], s.get("ignored"))
    row("classes", "class_balance", len(first["class_counts"]), len(s.get("class_counts", {})))
    names = list(first["class_counts"])
    names += [n for n in s.get("class_counts", {}) if n not in names]
    for name in names:
        row(
            f"  fraction {name}",
            None,
            first["class_fraction"].get(name, 0.0),
            s.get("class_fraction", {}).get(name, 0.0),
        )
    for key, label in (
        ("instances_per_image", "instances per image (mean)"),
        ("box_size", "box size / diagonal (mean)"),
        ("aspect", "log(w/h) (mean)"),
        ("visibility", "visib_fract (mean)"),
    ):
        row(label, key, first[key]["mean"], s.get(key, {}).get("mean"))
    if second is not None:
        row("box centres (10x10 heat map)", "centres", "", "")
    return table


def stats(
    dataset: DatasetArg,
    compare_with: Annotated[
        Path | None,
        typer.Option("--compare", help="A second dataset (e.g. real data) to compare with."),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write stats JSON.")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write a PNG of plots.")] = None,
) -> None:
    """Class balance, instances per image, box sizes, aspects, centres, visibility.

    With --compare, the same for a second dataset and a distance per statistic: total
    variation for class balance and box centres, 1-D Wasserstein for the others.
    """
    from rich.console import Console

    from simgen.inspect.dataset import open_dataset
    from simgen.inspect.stats import collect, compare, summarize

    first = open_dataset(dataset)
    a = collect(first.coco, first.name)
    b = None
    if compare_with is not None:
        other = open_dataset(compare_with)
        b = collect(other.coco, other.name)
    result: dict[str, Any] = {"dataset": summarize(a)}
    if b is not None:
        result["other"] = summarize(b)
        result["distances"] = compare(a, b)
    Console().print(
        _stats_table(result["dataset"], result.get("other"), result.get("distances", {}))
    )
    if out is not None:
        _write(out, (json.dumps(result, indent=1, allow_nan=False) + "\n").encode())
        typer.echo(f"wrote {out}", err=True)
    if plot is not None:
        from simgen.inspect.plots import PANELS, figure_png

        _write(plot, figure_png(PANELS, a, b, columns=4 if b is not None else 3))
        typer.echo(f"wrote {plot}", err=True)


def report(
    dataset: DatasetArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output HTML file.")],
    n: Annotated[int, typer.Option("--n", "-n", help="Images in the sample grid.")] = 12,
    images: ImagesOpt = None,
    compare_with: Annotated[
        Path | None, typer.Option("--compare", help="A second dataset to compare with.")
    ] = None,
) -> None:
    """One self-contained HTML page: plots, samples, config, provenance, gap results."""
    from simgen.inspect.dataset import open_dataset
    from simgen.inspect.report import build_report

    other = open_dataset(compare_with) if compare_with is not None else None
    page = build_report(open_dataset(dataset, images), n=n, other=other)
    _write(out, page.encode("utf-8"))
    typer.echo(f"wrote {out} ({len(page) // 1024} KiB)", err=True)


def register(app: typer.Typer) -> None:
    """Add the inspection commands to the ``simgen`` app."""
    app.command("validate")(validate)
    app.command("preview")(preview)
    app.command("stats")(stats)
    app.command("report")(report)
