"""The ``simgen`` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from simgen.errors import SimgenError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Domain-randomized synthetic datasets with exact COCO labels, rendered headless.",
)


@app.callback()
def _verbosity(
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Also log what each step skips or degrades, and debug detail."
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Log errors only.")] = False,
) -> None:
    """Set the log level of every command (warnings by default)."""
    from simgen.logs import LEVELS, configure

    if verbose and quiet:
        raise SimgenError("use one of --verbose and --quiet", field="--verbose/--quiet")
    configure(LEVELS["verbose" if verbose else "quiet" if quiet else "default"])


def _progress_bar(description: str):
    """A rich progress bar with images/s and ETA; returns (progress, callback)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task) -> Text:
            speed = task.finished_speed or task.speed
            return Text("-- img/s" if speed is None else f"{speed:.2f} img/s")

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    task = progress.add_task(description, total=None)
    state = {"started": False}

    def callback(done: int, total: int) -> None:
        if not state["started"]:
            progress.reset(task, total=total, completed=done)
            state["started"] = True
        else:
            progress.update(task, completed=done)

    return progress, callback


def _with_progress(description: str, quiet: bool, run):
    """Call ``run(progress)`` with a progress-bar callback, or with ``None`` when quiet."""
    if quiet:
        return run(None)
    progress, callback = _progress_bar(description)
    with progress:
        return run(callback)


def _print_summary(summary, categories: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"simgen render → {summary.out_dir}")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_row("images in dataset", str(summary.images))
    table.add_row("rendered now / resumed", f"{summary.rendered} / {summary.resumed}")
    table.add_row("time (s)", f"{summary.seconds:.1f}")
    table.add_row("images/s", f"{summary.images_per_second:.2f}")
    for name in categories:
        table.add_row(f"instances: {name}", str(summary.instances.get(name, 0)))
    table.add_row("instances flagged ignore", str(summary.ignored))
    if summary.unsettled_scenes:
        table.add_row("scenes not at rest after max_steps", str(summary.unsettled_scenes))
    if summary.rendered:
        total = sum(summary.stage_seconds.values()) or 1.0
        stages = ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in summary.stage_seconds.items())
        table.add_row("time by stage", stages)
    table.add_row("backend / workers", f"{summary.backend} / {summary.workers or 'auto'}")
    table.add_row("formats", ", ".join(summary.formats))
    if summary.retries or summary.crashes:
        table.add_row("retried attempts / worker crashes", f"{summary.retries} / {summary.crashes}")
    table.add_row("failed scenes", str(len(summary.failures)))
    console = Console(stderr=True)
    console.print(table)
    for report in summary.crash_reports:
        console.print(f"[yellow]worker crash:[/yellow] {report}", highlight=False)
    for failure in summary.failures:
        console.print(f"[red]failed:[/red] {failure.describe()}", highlight=False)


def _print_estimate(config, out: Path, workers: int, source: Path, backend: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from simgen.produce.estimate import estimate_run, format_bytes

    estimate = estimate_run(config, out, workers=workers, source=source)
    table = Table(title=f"simgen render --dry-run → {out} (nothing written)")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for name, value in estimate.lines():
        table.add_row(name, value)
    console = Console()
    console.print(table)
    if backend != "local":
        console.print("the estimate is for local workers on this machine", highlight=False)
    if estimate.disk_bytes > estimate.free_bytes:
        console.print(
            f"[yellow]warning:[/yellow] the run needs about {format_bytes(estimate.disk_bytes)}"
            f" but {out} has {format_bytes(estimate.free_bytes)} free",
            highlight=False,
        )


@app.command()
def render(
    scene: Annotated[
        Path | None, typer.Argument(help="Scene YAML; the built-in tabletop scene if omitted.")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Dataset directory.")] = Path("out"),
    num: Annotated[int | None, typer.Option("--num", "-n", help="Number of images.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", "-s", help="Root seed.")] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config value: key.path=value (repeatable)."),
    ] = None,
    depth: Annotated[
        bool | None, typer.Option("--depth/--no-depth", help="Also write depth PNGs.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            "-w",
            help="Worker processes (local; 1 renders in this process) or Ray tasks in flight "
            "(ray; default: the cluster's CPUs).",
        ),
    ] = None,
    backend: Annotated[
        str,
        typer.Option("--backend", help="Where shards run: local, or ray (needs the ray extra)."),
    ] = "local",
    address: Annotated[
        str | None, typer.Option("--address", help="Ray cluster address (--backend ray).")
    ] = None,
    recycle_after: Annotated[
        int | None,
        typer.Option(
            "--recycle-after", help="Replace a worker after this many scenes (bounds leaks)."
        ),
    ] = 500,
    max_attempts: Annotated[
        int, typer.Option("--max-attempts", help="Attempts per scene before it is reported.")
    ] = 3,
    formats: Annotated[
        list[str] | None,
        typer.Option(
            "--format",
            "-f",
            help="Extra formats, comma-separated or repeated: yolo, yolo-seg, bop, kitti "
            "(COCO is always written).",
        ),
    ] = None,
    coco_polygons: Annotated[
        bool, typer.Option("--coco-polygons", help="COCO segmentations as polygons, not RLE.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Write nothing: render a few scenes in a temporary folder and print the "
            "images left, the estimated time and disk.",
        ),
    ] = False,
) -> None:
    """Render a labeled dataset: DIR/images, DIR/annotations.json (COCO), DIR/config.yaml.

    Exit status 1 when scenes kept failing (they are listed; re-running retries them).
    """
    from simgen.config import default_scene_path, load_config
    from simgen.produce.runner import render_dataset

    items = list(overrides or [])
    if num is not None:
        items.append(f"num_images={num}")
    if seed is not None:
        items.append(f"seed={seed}")
    if depth is not None:
        items.append(f"output.depth={str(depth).lower()}")
    config = load_config(scene, items)
    source = scene if scene is not None else default_scene_path()
    if dry_run:
        _print_estimate(config, out, workers or 1, source, backend)
        return
    options = {
        "source": source,
        "workers": workers if workers is not None else (1 if backend == "local" else None),
        "backend": backend,
        "address": address,
        "recycle_after": recycle_after,
        "max_attempts": max_attempts,
        "formats": formats or (),
        "coco_polygons": coco_polygons,
        "physics_process": True if backend == "local" else None,
    }
    summary = _with_progress(
        "render", quiet, lambda progress: render_dataset(config, out, progress=progress, **options)
    )
    if quiet:
        for report in summary.crash_reports:
            typer.echo(f"simgen: worker crash: {report}", err=True)
        for failure in summary.failures:
            typer.echo(f"simgen: failed: {failure.describe()}", err=True)
    else:
        _print_summary(summary, config.categories())
    if summary.failures:
        typer.echo(
            f"simgen: {len(summary.failures)} scene(s) failed; no format files were written. "
            "Re-run the same command to retry them.",
            err=True,
        )
        raise typer.Exit(1)


@app.command("import-bop")
def import_bop_command(
    split_dir: Annotated[
        Path, typer.Argument(help="A BOP scene folder (scene_gt.json …) or a split of them.")
    ],
    models: Annotated[Path, typer.Option("--models", help="BOP models folder (PLY in mm).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output COCO dataset directory.")],
    visib_threshold: Annotated[
        float, typer.Option(help="Instances less visible than this are flagged ignore.")
    ] = 0.1,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Turn a BOP split into COCO by rendering every model at its ground-truth pose."""
    from simgen.formats.bop_import import import_bop

    summary = _with_progress(
        "import-bop",
        quiet,
        lambda progress: import_bop(
            split_dir, models, out, visib_threshold=visib_threshold, progress=progress
        ),
    )
    typer.echo(
        f"{summary['images']} images, {summary['instances']} instances "
        f"({summary['ignored']} flagged ignore) -> {summary['annotations']}",
        err=True,
    )


@app.command("import-kitti")
def import_kitti_command(
    root: Annotated[Path, typer.Argument(help="A KITTI folder with image_2/ and label_2/.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output COCO dataset directory.")],
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map", help="Rename KITTI types: Van=Car merges vans into cars (repeatable)."
        ),
    ] = None,
    ignore_as: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore",
            help="Types that count as ignored instances of a class, e.g. Van=Car (repeatable; "
            "default KITTI's rule: Van=Car, Person_sitting=Pedestrian).",
        ),
    ] = None,
    difficulty: Annotated[
        str | None,
        typer.Option(
            "--difficulty",
            help="Score only what this KITTI level scores (easy, moderate, hard): smaller, more "
            "occluded or truncated objects, and lower detections, are ignored (default: all).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Turn KITTI photos and labels into COCO; DontCare regions become ignore regions."""
    from simgen.composite.cli import parse_mapping
    from simgen.formats.kitti_import import import_kitti

    rename = parse_mapping(mapping, source="--map")
    ignore = parse_mapping(ignore_as, source="--ignore")
    summary = _with_progress(
        "import-kitti",
        quiet,
        lambda progress: import_kitti(
            root,
            out,
            mapping=rename,
            ignore_as=ignore,
            difficulty=difficulty,
            progress=progress,
        ),
    )
    typer.echo(
        f"{summary['images']} images, {summary['instances']} instances "
        f"({summary['ignored']} flagged ignore), {summary['dont_care']} DontCare regions "
        f"-> {summary['annotations']}",
        err=True,
    )


@app.command()
def merge(
    datasets: Annotated[
        list[Path], typer.Argument(help="simgen dataset directories, in the order to merge.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="New dataset directory.")],
    formats: Annotated[
        list[str] | None,
        typer.Option("--format", "-f", help="Extra formats: yolo, yolo-seg (COCO always)."),
    ] = None,
    coco_polygons: Annotated[
        bool, typer.Option("--coco-polygons", help="COCO segmentations as polygons, not RLE.")
    ] = False,
) -> None:
    """Merge datasets (e.g. from different machines) into one, with new stable ids.

    Images are renumbered in input order (all of the first dataset, then the second ...),
    annotations in image order; categories are merged by name in order of first appearance.
    """
    from simgen.dataset.merge import merge_datasets

    summary = merge_datasets(datasets, out, formats=formats or (), coco_polygons=coco_polygons)
    typer.echo(
        f"merged {len(datasets)} datasets: {summary.images} images, "
        f"{summary.annotations} annotations, {len(summary.categories)} categories -> {out}",
        err=True,
    )


@app.command()
def replay(
    dataset: Annotated[Path, typer.Argument(help="A simgen dataset directory.")],
    image_id: Annotated[int, typer.Argument(help="COCO image id (image index + 1).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="PNG file to write.")],
) -> None:
    """Re-render one image from its provenance record and check it against the dataset."""
    from simgen.io import atomic_write_bytes
    from simgen.produce.replay import replay_image

    result = replay_image(dataset, image_id)
    atomic_write_bytes(out, result.png)
    typer.echo(
        f"wrote {out}: pixels {'identical' if result.pixels_match else 'DIFFER'}, "
        f"labels {'identical' if result.labels_match else 'DIFFER'} "
        f"({len(result.annotations)} instances)",
        err=True,
    )
    if not (result.pixels_match and result.labels_match):
        raise typer.Exit(1)


from simgen.inspect.cli import register as _register_inspect  # noqa: E402

_register_inspect(app)

from simgen.gap.cli import register as _register_gap  # noqa: E402

_register_gap(app)

from simgen.composite.cli import register as _register_composite  # noqa: E402

_register_composite(app, _with_progress)

from simgen.cli.assets import register as _register_assets  # noqa: E402

_register_assets(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app and return its exit status.

    Bad input (:class:`SimgenError`) and file-system errors (``OSError``, naming the file)
    print one line and return 2; usage errors print typer's message and return its code;
    ``typer.Exit(n)`` returns ``n``.
    """
    try:
        result = app(args=argv, standalone_mode=False)
    except SimgenError as exc:
        typer.echo(f"simgen: error: {exc}", err=True)
        return 2
    except OSError as exc:  # a file-system error no command foresaw: still one line
        reason = exc.strerror or " ".join(str(exc).split()) or type(exc).__name__
        typer.echo(f"simgen: error: {SimgenError(reason, file=exc.filename)}", err=True)
        return 2
    except KeyboardInterrupt:
        typer.echo("simgen: interrupted; finished images are kept, re-run to resume", err=True)
        return 130
    except Exception as exc:
        # typer bundles its own click: recognise its exceptions by their attributes.
        code = getattr(exc, "exit_code", None)
        if isinstance(code, int):
            show = getattr(exc, "show", None)
            if callable(show):
                show()
            return code
        if type(exc).__name__ == "Abort":
            return 1
        raise
    return result if isinstance(result, int) else 0


def run() -> None:  # pragma: no cover - console-script shim
    """Console-script entry point."""
    sys.exit(main())
