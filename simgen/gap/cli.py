"""``simgen gap``: the command-line face of :mod:`simgen.gap`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from simgen.gap import HEAD_BLOCKS, HEAD_CHANNELS


def _progress_factory(console):
    """``(description, total) -> advance(n)`` backed by one rich Progress display."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )

    def factory(description: str, total: int):
        task = progress.add_task(description, total=total)
        return lambda n: progress.advance(task, n)

    return progress, factory


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
            Path | None,
            typer.Option("--real-train", help="Real training pool (the curve's real images)."),
        ] = None,
        val: Annotated[
            Path | None,
            typer.Option(
                "--val",
                help="A second real set every model is also scored on (val_AP... in gap.json): "
                "choose recipes on it, report the test set. E.g. the real training pool, for "
                "synthetic-only rows.",
            ),
        ] = None,
        backbone: Annotated[
            str,
            typer.Option(
                help="lite0: ImageNet-pretrained EfficientNet-Lite0 + FPN + CenterNet heads; "
                "scratch: the small CenterNet trained from random weights."
            ),
        ] = "lite0",
        real_counts: Annotated[
            str | None,
            typer.Option(
                "--real-counts",
                help="Counts of real training images, e.g. 0,5,10,30 ('all' = the whole pool; "
                "0 = synthetic only). Default 0,5,10,30 with --real-train, else 0.",
            ),
        ] = None,
        seeds: Annotated[int, typer.Option(min=1, help="Repeats, each with its own seed.")] = 3,
        quick: Annotated[
            bool,
            typer.Option("--quick", help="One seed, counts 0 and all, a half-size feature cache."),
        ] = False,
        steps: Annotated[int, typer.Option(min=2, help="Optimizer steps of every row.")] = 500,
        finetune_stages: Annotated[
            int,
            typer.Option(
                "--finetune-stages",
                min=0,
                max=7,
                help="lite0: train the backbone's last N stages too (0: frozen, features cached).",
            ),
        ] = 0,
        head_channels: Annotated[
            int,
            typer.Option(
                "--head-channels",
                min=8,
                max=512,
                help="lite0: channels of the head's neck and shared convs.",
            ),
        ] = HEAD_CHANNELS,
        head_blocks: Annotated[
            int,
            typer.Option(
                "--head-blocks",
                min=1,
                max=8,
                help="lite0: depthwise-separable blocks in the head's shared part.",
            ),
        ] = HEAD_BLOCKS,
        flip: Annotated[
            bool,
            typer.Option(
                "--flip", help="Allow horizontal flips (mirror images of chiral objects)."
            ),
        ] = False,
        augment: Annotated[
            Path | None,
            typer.Option("--augment", help="YAML file of augmentation settings (AugmentConfig)."),
        ] = None,
        copies: Annotated[
            int | None,
            typer.Option(
                min=1,
                help="Augmented copies cached per synthetic image (default: about 3,000 "
                "cached images in all).",
            ),
        ] = None,
        real_copies: Annotated[
            int | None,
            typer.Option(
                "--real-copies", min=1, help="Copies cached per real image (16; --quick: 8)."
            ),
        ] = None,
        cache_mib: Annotated[
            int, typer.Option("--cache-mib", min=1, help="Memory bound of the feature cache.")
        ] = 4096,
        real_unlabeled: Annotated[
            Path | None,
            typer.Option("--real-unlabeled", help="Folder of unlabeled real images for AdaBN."),
        ] = None,
        adabn: Annotated[
            bool,
            typer.Option(
                "--adabn",
                help="AdaBN: recompute trainable BatchNorm statistics on real images "
                "(--real-unlabeled, else the real training pool without labels).",
            ),
        ] = False,
        adabn_backbone: Annotated[
            bool,
            typer.Option(
                "--adabn-backbone",
                help="AdaBN in the frozen backbone too (implies --adabn): synthetic and real "
                "features each through their own domain's BatchNorm statistics.",
            ),
        ] = False,
        self_train: Annotated[
            float | None,
            typer.Option(
                "--self-train",
                help="Self-training of the synthetic-only row: its detections on the unlabeled "
                "real images with at least this score become labels for more training.",
            ),
        ] = None,
        device: Annotated[
            str | None, typer.Option(help="cpu or cuda (default: cuda when available).")
        ] = None,
        size: Annotated[
            str,
            typer.Option(
                help="Input size in pixels: S for a square input, or WxH for a wide one "
                "(e.g. 1024x320 for KITTI's 1242x375 frames); images are letterboxed into it."
            ),
        ] = "256",
        boxes: Annotated[
            str, typer.Option(help="modal (visible bbox) or amodal (bbox_amodal).")
        ] = "modal",
        threads: Annotated[int | None, typer.Option(help="CPU threads for torch.")] = None,
        seed: Annotated[int, typer.Option(help="First seed.")] = 0,
        rows: Annotated[
            str | None,
            typer.Option(
                "--rows",
                help="Comma-separated kinds to train at counts above 0: real, synthetic->real, "
                "synthetic+real (default: all).",
            ),
        ] = None,
        mix: Annotated[
            float,
            typer.Option(
                "--mix",
                help="Share of synthetic images in each synthetic+real batch (0 < mix < 1).",
            ),
        ] = 0.5,
        test_scales: Annotated[
            str,
            typer.Option(
                "--test-scales",
                help="Input scales to predict test images at, merged (e.g. 1,0.5; default 1).",
            ),
        ] = "1",
        test_flip: Annotated[
            bool,
            typer.Option(
                "--test-flip",
                help="Also predict test images mirrored, merged (needs --flip in training).",
            ),
        ] = False,
        stock_ignore: Annotated[
            bool,
            typer.Option(
                "--stock-ignore",
                help="Score ignore-flagged instances like stock pycocotools (as misses).",
            ),
        ] = False,
    ) -> None:
        """Judge synthetic data by the detector a user would train: the label-efficiency curve
        on real photographs."""
        from rich.console import Console

        from simgen.errors import SimgenError

        if boxes not in ("modal", "amodal"):
            raise SimgenError("expected modal or amodal", file="--boxes", field=boxes)
        if device not in (None, "cpu", "cuda"):
            raise SimgenError("expected cpu or cuda", file="--device", field=device)
        if backbone not in ("lite0", "scratch"):
            raise SimgenError("expected lite0 or scratch", file="--backbone", field=backbone)
        try:
            from simgen.gap import import_torch

            import_torch()
        except ImportError as exc:
            raise SimgenError(str(exc).splitlines()[0], file="torch") from None
        from simgen.gap.augment import AugmentConfig, load_augment_config
        from simgen.gap.multiscale import parse_scales
        from simgen.gap.report import print_table
        from simgen.gap.run import (
            CACHED_IMAGES,
            QUICK_CACHED_IMAGES,
            QUICK_COUNTS,
            QUICK_REAL_COPIES,
            REAL_COPIES,
            run_gap,
        )

        scales = parse_scales(test_scales)
        config = load_augment_config(augment) if augment is not None else AugmentConfig()
        if flip:
            config = config.model_copy(update={"flip": True})
        cached_images = CACHED_IMAGES
        if quick:
            seeds = 1
            real_counts = real_counts or (QUICK_COUNTS if real_train is not None else "0")
            cached_images = QUICK_CACHED_IMAGES
            real_copies = real_copies or QUICK_REAL_COPIES
        console = Console(stderr=True)
        display, factory = _progress_factory(console)
        with display:
            result = run_gap(
                train,
                test,
                out,
                real_train=real_train,
                backbone=backbone,
                real_counts=real_counts,
                seeds=seeds,
                seed=seed,
                steps=steps,
                finetune_stages=finetune_stages,
                head_channels=head_channels,
                head_blocks=head_blocks,
                augment=config,
                copies=copies,
                real_copies=real_copies or REAL_COPIES,
                cached_images=cached_images,
                cache_mib=cache_mib,
                real_unlabeled=real_unlabeled,
                val=val,
                adabn=adabn,
                adabn_backbone=adabn_backbone,
                self_train=self_train,
                device=device,
                size=size,
                boxes=boxes,
                threads=threads,
                honour_ignore=not stock_ignore,
                kinds=None if rows is None else [r.strip() for r in rows.split(",") if r.strip()],
                mix=mix,
                test_scales=scales,
                test_flip=test_flip,
                log=lambda message: display.console.print(message),
                progress=factory,
            )
        print_table(result)
        typer.echo(f"wrote {out / 'gap.json'}", err=True)
