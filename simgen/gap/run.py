"""The gap experiment: the label-efficiency curve of synthetic data on real photos.

For every seed and every count k of real training images (:mod:`simgen.gap.curve`), the judge
(:mod:`simgen.gap.judges`) trains, with the same step budget each:

- ``synthetic`` (k = 0): synthetic data only;
- ``real``: the k real images only;
- ``synthetic→real``: half the steps on synthetic data, then half fine-tuning on the k real
  images at a quarter of the learning rate (the synthetic half is trained once per seed and
  reused for every k);
- ``synthetic+real``: each batch draws half its images from each (``mix`` sets the share).

Every model is scored on the real test set (COCO AP with BOP's ignore rule,
:mod:`simgen.gap.evaluate`); rows are aggregated over seeds into mean and spread, summed up in
one sentence, and written with pictures to ``OUT`` (``gap.json``, ``label_efficiency.png``, ...).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from simgen.errors import SimgenError
from simgen.formats.kitti_difficulty import recorded_level
from simgen.gap import HEAD_BLOCKS, HEAD_CHANNELS
from simgen.gap.data import BoxKind, input_size, load_detection_set, prepare, size_text
from simgen.gap.kitti_metric import KITTI_CONVENTION

CONVENTIONS_IGNORE = (
    "instances flagged ignore (visib_fract < 0.1) neither reward nor penalize (BOP's rule: "
    "detections matched to them are discarded, missing them is not a miss); stock pycocotools "
    "would overwrite ignore with iscrowd and count them"
)

DEFAULT_COUNTS = "0,5,10,30"
QUICK_COUNTS = "0,all"
CACHED_IMAGES = 3000
"""Synthetic entries the feature cache aims at when ``copies`` is not given."""
QUICK_CACHED_IMAGES = 1500
REAL_COPIES = 16
"""Augmented copies cached per real training image."""
QUICK_REAL_COPIES = 8
"""``--quick``'s smaller cache (it must finish in about 10 minutes on 2 cores)."""
BACKBONES = ("lite0", "scratch")
LEARNING_RATES = {"lite0": 1e-2, "scratch": 2e-3}
"""Peak learning rate of each judge (fine-tuning on real uses a quarter of it). lite0's was
chosen on the LM-O real training pool (20 photos to train, 10 to validate), never the test set."""


def shared_categories(train_path: Path, test_path: Path) -> list[str]:
    """Test categories that also occur in the training data, in the test set's order."""
    test = load_detection_set(test_path, check_files=False)
    train = load_detection_set(train_path, check_files=False)
    shared = [name for name in test.categories if name in set(train.categories)]
    if not shared:
        raise SimgenError(
            f"no category of the training data ({', '.join(train.categories) or 'none'}) "
            f"occurs in the test data ({', '.join(test.categories) or 'none'})",
            file=train_path,
            field="categories",
        )
    return shared


def _unlabeled_set(folder: Path, classes: list[str]):
    """A folder of images (recursively) as a DetectionSet without boxes."""
    import numpy as np

    from simgen.gap.data import DetectionSet, Sample

    suffixes = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
    if not folder.is_dir():
        raise SimgenError("not a folder of images", file=folder)
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in suffixes and p.is_file())
    if not files:
        raise SimgenError("no images in the folder", file=folder, field="--real-unlabeled")
    empty = np.zeros((0, 4), np.float32)
    samples = [
        Sample(p, i, 0, 0, empty, np.zeros(0, np.int64), np.zeros(0, bool))
        for i, p in enumerate(files)
    ]
    return DetectionSet(folder.name, samples, classes, {}, folder)


def run_gap(
    train: str | Path,
    test: str | Path,
    out: str | Path,
    *,
    real_train: str | Path | None = None,
    val: str | Path | None = None,
    backbone: str = "lite0",
    real_counts: str | Sequence[int] | None = None,
    seeds: int = 3,
    seed: int = 0,
    steps: int = 500,
    finetune_stages: int = 0,
    head_channels: int = HEAD_CHANNELS,
    head_blocks: int = HEAD_BLOCKS,
    augment=None,
    copies: int | None = None,
    real_copies: int = REAL_COPIES,
    cached_images: int = CACHED_IMAGES,
    cache_mib: int = 4096,
    real_unlabeled: str | Path | None = None,
    adabn: bool = False,
    adabn_backbone: bool = False,
    self_train: float | None = None,
    device: str | None = None,
    size: int | str | tuple[int, int] = 256,
    boxes: BoxKind = "modal",
    threads: int | None = None,
    batch_size: int | None = None,
    width: int = 24,
    honour_ignore: bool = True,
    kinds: Sequence[str] | None = None,
    mix: float = 0.5,
    test_scales: Sequence[float] = (1.0,),
    test_flip: bool = False,
    log: Callable[[str], None] | None = None,
    progress=None,
) -> dict[str, Any]:
    """Train every row of the curve, score it, write ``OUT/gap.json`` and pictures.

    Args:
        train: synthetic dataset (simgen folder, COCO file or mask folder).
        test: real test set.
        out: output folder (written only after every row is scored).
        real_train: the real training pool (needed for counts above 0).
        val: a second real set every model is also scored on (``val_AP``, ``val_AP50``,
            ``val_AP75`` and ``val_per_class_AP50`` in the rows and the curve), so that recipes
            can be chosen on it and the test set is only reported. Meant for synthetic-only
            rows: when it is the real training pool, rows trained on real images have seen it.
        backbone: ``lite0`` (pretrained, default) or ``scratch``.
        real_counts: counts of real training images, e.g. ``"0,5,10,30"`` (``all`` = the whole
            pool); default :data:`DEFAULT_COUNTS` with a pool, else ``0``.
        seeds: repeats (seeds ``seed .. seed + seeds - 1``); each draws its own real subsets,
            initialization and batches.
        seed: the first seed.
        steps: optimizer steps of every row.
        finetune_stages: lite0 backbone stages that train (0: frozen, features cached).
        head_channels: channels of the lite0 head's neck and shared convs.
        head_blocks: depthwise-separable blocks in the lite0 head's shared part.
        augment: :class:`~simgen.gap.augment.AugmentConfig` (default: its defaults).
        copies: augmented copies cached per synthetic image (default: enough for about
            ``cached_images`` cached entries, 1 to 16).
        real_copies: augmented copies cached per real training image.
        cached_images: the synthetic cache size that the default ``copies`` aims at.
        cache_mib: memory bound of the feature cache.
        real_unlabeled: a folder of unlabeled real images for AdaBN (implies ``adabn``).
        adabn: recompute trainable BatchNorm statistics on real images before scoring
            (``real_unlabeled``, else the real training pool without its labels).
        adabn_backbone: AdaBN in the frozen lite0 backbone too (implies ``adabn``): synthetic
            features through BatchNorm statistics of synthetic images, real ones through
            those of the unlabeled real images, instead of ImageNet's for both.
        self_train: self-training of the synthetic-only row (frozen lite0 only): after its
            training (and AdaBN, if on) the model's detections on the unlabeled real images
            with at least this score become their labels, and the model trains ``steps -
            steps // 2`` more steps at a quarter of the learning rate on synthetic and
            pseudo-labelled images (``mix`` synthetic). Needs ``real_unlabeled`` or
            ``real_train`` (used without its labels), like AdaBN.
        device: ``cpu``/``cuda``; ``None`` picks CUDA when available.
        size: input size: ``S`` (square), ``"WxH"`` text or ``(height, width)``; images are
            letterboxed into it (lite0 needs multiples of 32). Wide inputs suit wide photos
            (KITTI's 1242x375 frames: ``1024x320``).
        boxes: ``modal`` (visible ``bbox``) or ``amodal`` (``bbox_amodal``).
        threads: torch CPU threads (default: all cores).
        batch_size: images per step (default: 16).
        width: the scratch detector's width.
        honour_ignore: BOP's ignore rule (True) or stock COCO behaviour (False).
        kinds: train only these kinds at k > 0 (of ``real``, ``synthetic→real``,
            ``synthetic+real``; ``->`` is accepted for the arrow).
        mix: the share of synthetic images in each ``synthetic+real`` batch (0 < mix < 1).
        test_scales: input scales the test and val images are predicted at, 1 among them;
            with more than one, every scale's detections are merged
            (:mod:`simgen.gap.multiscale`).
        test_flip: also predict every test and val pass on the images mirrored, merged with
            the others (the lite0 judge needs ``augment.flip``: the detector must have seen
            mirror images; the scratch detector's own augmentation flips).
        log: called with one line per phase and row.
        progress: ``progress(description, total) -> advance(n)`` for progress bars.

    Raises:
        SimgenError: bad input (one line naming the file or option).
    """
    from simgen.gap import import_torch
    from simgen.gap.augment import DEFAULT_AUGMENT
    from simgen.gap.curve import KINDS, aggregate, nested_subsets, parse_counts, summary_sentence
    from simgen.gap.evaluate import evaluate
    from simgen.gap.judges import JudgeSettings, Lite0Judge, ScratchJudge
    from simgen.gap.multiscale import check_scales, mirrored_name, scaled_name, scaled_size
    from simgen.gap.report import DETECTIONS_DIR, write_detections, write_report
    from simgen.gap.train import pick_device

    torch = import_torch()
    started = time.perf_counter()
    say = log or (lambda message: None)
    bar = progress or (lambda description, total: lambda n: None)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SimgenError("output path exists and is a file, not a directory", file=out)
    if backbone not in BACKBONES:
        raise SimgenError(f"expected one of {', '.join(BACKBONES)}", file="--backbone")
    if seeds < 1:
        raise SimgenError("expected at least 1", file="--seeds", field=str(seeds))
    if steps < 2:
        raise SimgenError("expected at least 2", file="--steps", field=str(steps))
    size = input_size(size)
    if backbone == "lite0" and (size[0] % 32 or size[1] % 32):
        raise SimgenError(
            f"lite0 needs sides that are multiples of 32, got {size_text(size)}", file="--size"
        )
    if not 0.0 < mix < 1.0:
        raise SimgenError(f"expected a share between 0 and 1, got {mix}", file="--mix")
    test_scales = check_scales(test_scales)
    if test_flip and backbone == "lite0" and not (augment or DEFAULT_AUGMENT).flip:
        raise SimgenError(
            "mirrored test passes need a detector trained with flips (--flip)", file="--test-flip"
        )
    wanted = list(KINDS) if kinds is None else [k.replace("->", "→") for k in kinds]
    for name in wanted:
        if name not in KINDS:
            raise SimgenError(
                f"unknown kind '{name}'; choose from {', '.join(KINDS)}", file="--rows"
            )
    wanted = [name for name in KINDS if name in wanted]
    train, test = Path(train), Path(test)
    classes = shared_categories(train, test)
    sets = {
        "synthetic": load_detection_set(train, categories=classes, boxes=boxes),
        "test": load_detection_set(test, categories=classes, boxes=boxes),
    }
    if val is not None:
        shared_categories(Path(val), test)
        sets["val"] = load_detection_set(Path(val), categories=classes, boxes=boxes)
    if real_train is not None:
        shared_categories(Path(real_train), test)
        sets["real"] = load_detection_set(Path(real_train), categories=classes, boxes=boxes)
    pool = len(sets["real"].samples) if "real" in sets else None
    if real_counts is None:
        real_counts = DEFAULT_COUNTS if pool is not None else "0"
    if not isinstance(real_counts, str):
        real_counts = ",".join(str(k) for k in real_counts)
    counts = parse_counts(real_counts, pool)
    for name in ("synthetic", "real"):
        if name in sets and not any(len(s.boxes) for s in sets[name].samples):
            raise SimgenError(
                f"{name} training data has no annotations of the test categories",
                file=sets[name].source,
                field="annotations",
            )
    if backbone != "lite0" and (head_channels, head_blocks) != (HEAD_CHANNELS, HEAD_BLOCKS):
        raise SimgenError(
            "a head's size is a lite0 setting (--backbone scratch sets --width)",
            file="--head-channels" if head_channels != HEAD_CHANNELS else "--head-blocks",
        )
    if adabn_backbone:
        if backbone != "lite0" or finetune_stages:
            raise SimgenError(
                "AdaBN in the backbone needs the frozen lite0 backbone", file="--adabn-backbone"
            )
        adabn = True
    if self_train is not None:
        if not 0.0 < self_train < 1.0:
            raise SimgenError(
                f"expected a score between 0 and 1, got {self_train}", file="--self-train"
            )
        if backbone != "lite0" or finetune_stages:
            raise SimgenError("self-training needs the frozen lite0 backbone", file="--self-train")
    if real_unlabeled is not None:
        sets["unlabeled"] = _unlabeled_set(Path(real_unlabeled), classes)
        adabn = True
    elif adabn or self_train is not None:
        if "real" not in sets:
            raise SimgenError(
                f"{'AdaBN' if adabn else 'self-training'} needs --real-unlabeled or --real-train",
                file="--adabn" if adabn else "--self-train",
            )
        sets["unlabeled"] = sets["real"]
    if "real" in sets and not any(k > 0 for k in counts):
        # No row trains on the pool's labels: it is neither prepared nor cached (an unlabeled
        # set taken from it keeps its images). The other sets' caches come out the same.
        del sets["real"]
    device = pick_device(device)
    torch.set_num_threads(threads or os.cpu_count() or 1)
    batch = batch_size or 16
    settings = JudgeSettings(len(classes), size, device, batch, test_scales, test_flip)
    if backbone == "lite0":
        synthetic_copies = copies or int(
            min(16, max(1, round(cached_images / len(sets["synthetic"].samples))))
        )
        judge = Lite0Judge(
            settings,
            finetune_stages=finetune_stages,
            augment=augment,
            copies={"synthetic": synthetic_copies, "real": real_copies},
            cache_bytes=cache_mib << 20,
            cache_seed=seed,
            domain_statistics=adabn_backbone,
            neck=head_channels,
            blocks=head_blocks,
        )
    else:
        judge = ScratchJudge(settings, width=width)
    say(f"loading images at {size_text(size)} px (classes: {', '.join(classes)})")
    prepared = {}
    for name, data in sets.items():
        advance = bar(f"loading {name} images", len(data.samples))
        prepared[name] = prepare(data, size, progress=advance)
    # The shrunken passes, then (with --test-flip) every scale's mirrored pass.
    extra = [(scale, False) for scale in test_scales if scale != 1.0]
    extra += [(scale, True) for scale in test_scales] if test_flip else []
    for scale, mirrored in extra:
        for name in ("test", "val"):
            if name in sets:
                scaled = size if scale == 1.0 else scaled_size(size, scale)
                pass_name = name if scale == 1.0 else scaled_name(name, scale)
                advance = bar(
                    f"loading {name} images{' mirrored' if mirrored else ''} at "
                    f"{size_text(scaled)}",
                    len(sets[name].samples),
                )
                prepared[mirrored_name(pass_name) if mirrored else pass_name] = prepare(
                    sets[name], scaled, progress=advance, mirror=mirrored
                )
    judge.prepare(prepared, bar)
    copies: dict[str, int] = getattr(judge, "cached_copies", {})  # judges that cache features
    entries = len(sets["synthetic"].samples) * copies.get("synthetic", 1)
    passes = synthetic_passes(steps, batch, entries)
    if passes < 1:
        say(
            f"note: {steps} steps of {batch} draw {steps * batch:,} of {entries:,} synthetic "
            f"entries ({passes:.2f} passes): part of the synthetic set is never seen; raise "
            "--steps for large sets"
        )
    lr = LEARNING_RATES[backbone]
    half = steps // 2
    rows: list[dict[str, Any]] = []
    detections: dict[str, list] = {}
    val_detections: dict[str, list] = {}
    training: dict[str, dict[str, Any]] = {}
    positive = [k for k in counts if k > 0]
    adapted = 0
    pseudo_boxes: dict[int, int] = {}

    def score(model, name: str, k: int, run_seed: int, result_steps: int, seconds: float):
        nonlocal adapted
        if adabn:
            adapted = judge.adapt(model)
        found = judge.predict(model)
        scores = evaluate(sets["test"], found, boxes=boxes, honour_ignore=honour_ignore)
        row = {
            "train": name,
            "real_images": k,
            "seed": run_seed,
            "backbone": backbone,
            **{key: value for key, value in scores.items()},
        }
        key = f"{name} k={k} seed={run_seed}"
        if "val" in sets:
            val_detections[key] = judge.predict(model, "val")
            on_val = evaluate(
                sets["val"], val_detections[key], boxes=boxes, honour_ignore=honour_ignore
            )
            row.update({f"val_{m}": on_val[m] for m in ("AP", "AP50", "AP75")})
            row["val_per_class_AP50"] = on_val["per_class_AP50"]
            if "kitti_AP_R40" in on_val:
                row["val_kitti_AP_R40"] = on_val["kitti_AP_R40"]
        rows.append(row)
        detections[key] = found
        training[key] = {"steps": result_steps, "seconds": round(seconds, 1)}
        line = f"  {key}: AP {row['AP']:.3f}  AP50 {row['AP50']:.3f}  AP75 {row['AP75']:.3f}"
        if "val" in sets:
            line += f"  (val: AP {row['val_AP']:.3f}  AP50 {row['val_AP50']:.3f})"
        say(line)

    def fit(model, sources, probabilities, n, rate, run_seed, label):
        advance = bar(f"training {label}", n)
        return judge.fit(
            model,
            sources,
            probabilities,
            steps=n,
            lr=rate,
            seed=run_seed,
            progress=_stepper(advance),
        )

    for run_seed in range(seed, seed + seeds):
        subsets = nested_subsets(pool or 0, positive, run_seed)
        if 0 in counts:
            model = judge.new_model(run_seed)
            result = fit(
                model,
                [("synthetic", None)],
                [1.0],
                steps,
                lr,
                run_seed,
                f"synthetic (seed {run_seed})",
            )
            if self_train is not None:
                if adabn:
                    judge.adapt(model)
                found = pseudo_boxes[run_seed] = judge.pseudo_label(model, self_train)
                say(
                    f"  self-training (seed {run_seed}): {found} boxes with a score of at least "
                    f"{self_train} on {len(sets['unlabeled'].samples)} unlabeled images"
                )
                more = fit(
                    model,
                    [("synthetic", None), ("pseudo", None)],
                    [mix, 1.0 - mix],
                    steps - half,
                    lr / 4,
                    run_seed,
                    f"self-training (seed {run_seed})",
                )
                result = dataclasses.replace(
                    more,
                    steps=result.steps + more.steps,
                    images=result.images + more.images,
                    seconds=result.seconds + more.seconds,
                )
            score(model, "synthetic", 0, run_seed, result.steps, result.seconds)
        pretrained = None
        if positive and "synthetic→real" in wanted:
            pretrained = judge.new_model(run_seed)
            first = fit(
                pretrained,
                [("synthetic", None)],
                [1.0],
                half,
                lr,
                run_seed,
                f"synthetic half for synthetic→real (seed {run_seed})",
            )
        for k in positive:
            real = ("real", subsets[k])
            for name in wanted:
                label = f"{name} k={k} (seed {run_seed})"
                if name == "real":
                    model = judge.new_model(run_seed)
                    result = fit(model, [real], [1.0], steps, lr, run_seed, label)
                    score(model, name, k, run_seed, result.steps, result.seconds)
                elif name == "synthetic+real":
                    model = judge.new_model(run_seed)
                    result = fit(
                        model,
                        [("synthetic", None), real],
                        [mix, 1.0 - mix],
                        steps,
                        lr,
                        run_seed,
                        label,
                    )
                    score(model, name, k, run_seed, result.steps, result.seconds)
                else:
                    model = judge.clone(pretrained)
                    result = fit(model, [real], [1.0], steps - half, lr / 4, run_seed, label)
                    score(
                        model,
                        name,
                        k,
                        run_seed,
                        first.steps + result.steps,
                        first.seconds + result.seconds,
                    )
    curve = aggregate(rows, classes)
    sentence = summary_sentence(curve)
    say(sentence)
    level = recorded_level(sets["test"].coco) if honour_ignore else None
    result = {
        "rows": [{k: v for k, v in row.items() if k != "pr"} for row in rows],
        "curve": curve,
        "summary": sentence,
        "conventions": {
            "metric": "COCO box AP (pycocotools COCOeval, IoU 0.50:0.95, 101 recall points, "
            "100 detections per image, all areas)",
            "boxes": f"{boxes}: "
            + (
                "visible (modal) boxes, COCO 'bbox'"
                if boxes == "modal"
                else "full-object (amodal) boxes, 'bbox_amodal', clipped to the image"
            ),
            "ignore": CONVENTIONS_IGNORE
            if honour_ignore
            else "stock pycocotools: ignore flags "
            "are overwritten by iscrowd (flagged instances count as ordinary ground truth)",
            "spread": "AP_std etc.: population standard deviation over seeds",
            "real_subsets": "nested: subset k is the first k of one seeded permutation of the "
            "real training pool",
            "classes": classes,
            "test_images": len(sets["test"].samples),
            "test_instances": int(sum(len(s.boxes) for s in sets["test"].samples)),
            **({"kitti_difficulty": level} if level is not None else {}),
            **({"kitti_AP_R40": KITTI_CONVENTION} if "kitti_AP_R40" in rows[0] else {}),
        },
        "training": training,
        "settings": {
            "backbone": backbone,
            "finetune_stages": finetune_stages if backbone == "lite0" else None,
            "head": {"channels": head_channels, "blocks": head_blocks}
            if backbone == "lite0"
            else None,
            "real_counts": counts,
            "real_pool": pool,
            "seeds": list(range(seed, seed + seeds)),
            "steps_per_row": steps,
            "synthetic_passes": round(passes, 3),
            "batch_size": batch,
            "synthetic_share": mix,
            "learning_rate": lr,
            "input_size": size[0] if size[0] == size[1] else size_text(size),
            "test_scales": list(test_scales),
            "test_flip": test_flip,
            "device": device,
            "threads": torch.get_num_threads(),
            "cached_copies": copies or None,
            "augment": None if backbone == "scratch" else judge.augment.model_dump(mode="json"),
            "adabn": {
                "layers": adapted,
                "images": len(sets["unlabeled"].samples),
                "backbone": adabn_backbone,
            }
            if adabn
            else None,
            "self_train": {"score": self_train, "pseudo_boxes": pseudo_boxes}
            if self_train is not None
            else None,
            "width": width if backbone == "scratch" else None,
            "data": {
                "train": str(train),
                "test": str(test),
                **({"real_train": str(real_train)} if real_train is not None else {}),
                **({"val": str(val)} if val is not None else {}),
                **({"real_unlabeled": str(real_unlabeled)} if real_unlabeled else {}),
            },
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    write_report(out, result, rows, sets["test"], detections)
    for scored, by_row in (("test", detections), ("val", val_detections)):
        if scored in sets:  # every model's detections on each scored set, COCO results
            write_detections(out / DETECTIONS_DIR / scored, sets[scored], rows, by_row)
    result["minutes"] = round((time.perf_counter() - started) / 60.0, 2)
    from simgen.dataset.layout import GAP_FILE
    from simgen.io import atomic_write_text, dump_json

    atomic_write_text(out / GAP_FILE, dump_json(result))
    return result


def synthetic_passes(steps: int, batch: int, entries: int) -> float:
    """How many times a synthetic-only row's draws cover its synthetic entries (images times
    cached copies): ``steps * batch / entries``. Under 1, part of the synthetic set is never
    seen (the LM-O renders' AP rose with the steps up to about 3 passes; see the README)."""
    return steps * batch / max(1, entries)


def _stepper(advance: Callable[[int], None]) -> Callable[[int], None]:
    """A ``log(step)`` callback that advances a progress bar by one per step."""
    return lambda step: advance(1)
