"""The gap experiment: train on each kind of data with the same budget, score on real photos.

Rows: ``synthetic`` always; with real training data also ``real``, ``synthetic+real`` (each
batch draws half its images from each) and ``synthetic→real`` (half the budget on synthetic,
then half fine-tuning on real at a quarter of the learning rate). Every row gets the same
wall-clock budget and the same seed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from simgen.errors import SimgenError
from simgen.gap.data import BoxKind, load_detection_set, prepare

CONVENTIONS_IGNORE = (
    "instances flagged ignore (visib_fract < 0.1) neither reward nor penalize (BOP's rule: "
    "detections matched to them are discarded, missing them is not a miss); stock pycocotools "
    "would overwrite ignore with iscrowd and count them"
)


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


def run_gap(
    train: str | Path,
    test: str | Path,
    out: str | Path,
    *,
    real_train: str | Path | None = None,
    minutes: float = 6.0,
    steps: int | None = None,
    device: str | None = None,
    size: int = 256,
    boxes: BoxKind = "modal",
    seed: int = 0,
    threads: int | None = None,
    width: int = 24,
    honour_ignore: bool = True,
    rows: Sequence[str] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run every row and write ``OUT/gap.json`` and pictures; returns the gap.json content.

    Args:
        train: synthetic dataset (simgen folder, COCO file or mask folder).
        test: real test set.
        out: output folder.
        real_train: optional real training set (adds the real and mixed rows).
        minutes: training budget per row.
        steps: a step budget per row instead of ``minutes`` (reproducible on any machine;
            the synthetic→real row spends half on each phase).
        device: ``cpu``/``cuda``; ``None`` picks CUDA when available.
        size: square input size (images are letterboxed).
        boxes: ``modal`` (visible ``bbox``) or ``amodal`` (``bbox_amodal``) for training and
            scoring.
        threads: torch CPU threads (default: all cores).
        width: detector width.
        honour_ignore: BOP's ignore rule (True) or stock COCO behaviour (False).
        rows: train only these rows (of ``synthetic``, ``real``, ``synthetic+real``,
            ``synthetic→real``; ``synthetic->real`` is accepted too); default: all that the
            inputs allow.
    """
    from simgen.gap import import_torch
    from simgen.gap.evaluate import evaluate
    from simgen.gap.model import CenterNet
    from simgen.gap.report import write_report
    from simgen.gap.train import pick_device, predict
    from simgen.gap.train import train as fit

    torch = import_torch()
    started = time.perf_counter()
    say = log or (lambda message: None)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SimgenError("output path exists and is a file, not a directory", file=out)
    train, test = Path(train), Path(test)
    paths = [train, test, *([Path(real_train)] if real_train else [])]
    known = ["synthetic", *(["real", "synthetic+real", "synthetic→real"] if real_train else [])]
    wanted = None if rows is None else [r.replace("->", "→") for r in rows]
    for name in wanted or ():
        if name not in known:
            raise SimgenError(
                f"unknown row '{name}'; choose from {', '.join(known)}"
                + ("" if real_train else " (the other rows need --real-train)"),
                file="--rows",
            )
    classes = shared_categories(train, test)
    if real_train:
        shared_categories(Path(real_train), test)
    sets = {
        "synthetic": load_detection_set(train, categories=classes, boxes=boxes),
        "test": load_detection_set(test, categories=classes, boxes=boxes),
    }
    if real_train:
        sets["real"] = load_detection_set(Path(real_train), categories=classes, boxes=boxes)
    for name in ("synthetic", "real"):
        if name in sets and not any(len(s.boxes) for s in sets[name].samples):
            raise SimgenError(
                f"{name} training data has no annotations of the test categories",
                file=sets[name].source,
                field="annotations",
            )
    device = pick_device(device)
    torch.set_num_threads(threads or os.cpu_count() or 1)
    say(f"loading images at {size}px (classes: {', '.join(classes)})")
    prepared = {name: prepare(data, size) for name, data in sets.items()}
    budget = minutes * 60.0
    step_budget = steps  # `steps` below counts the steps taken

    def new_model():
        torch.manual_seed(seed)
        return CenterNet(len(classes), width=width)

    plans: list[tuple[str, list[tuple[list[str], list[float], float, float]]]] = [
        ("synthetic", [(["synthetic"], [1.0], budget, 2e-3)])
    ]
    if real_train:
        plans += [
            ("real", [(["real"], [1.0], budget, 2e-3)]),
            ("synthetic+real", [(["synthetic", "real"], [0.5, 0.5], budget, 2e-3)]),
            (
                "synthetic→real",
                [(["synthetic"], [1.0], budget / 2, 2e-3), (["real"], [1.0], budget / 2, 5e-4)],
            ),
        ]
    if wanted is not None:
        plans = [plan for plan in plans if plan[0] in wanted]
    rows, detections, training = [], {}, {}
    for row, phases in plans:
        model = new_model()
        steps = images = 0
        seconds = 0.0
        for names, probabilities, phase_seconds, lr in phases:
            phase_steps = (
                None if step_budget is None else round(step_budget * phase_seconds / budget)
            )
            amount = (
                f"{phase_seconds / 60:.1f} min" if phase_steps is None else f"{phase_steps} steps"
            )
            say(f"training '{row}' on {'+'.join(names)} for {amount}")
            result = fit(
                model,
                [prepared[n] for n in names],
                probabilities,
                num_classes=len(classes),
                seconds=phase_seconds,
                max_steps=phase_steps,
                device=device,
                lr=lr,
                seed=seed,
            )
            steps, images, seconds = (
                steps + result.steps,
                images + result.images,
                seconds + result.seconds,
            )
        detections[row] = predict(model, prepared["test"], device=device)
        scores = evaluate(sets["test"], detections[row], boxes=boxes, honour_ignore=honour_ignore)
        training[row] = {
            "steps": steps,
            "images_seen": images,
            "seconds": round(seconds, 1),
            "images_per_second": round(images / seconds, 1) if seconds else 0.0,
        }
        say(f"  {row}: AP {scores['AP']:.3f}  AP50 {scores['AP50']:.3f}  AP75 {scores['AP75']:.3f}")
        rows.append({"train": row, **scores})
    result = {
        "rows": [{k: v for k, v in row.items() if k != "pr"} for row in rows],
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
            "classes": classes,
            "test_images": len(sets["test"].samples),
            "test_instances": sum(len(s.boxes) for s in sets["test"].samples),
        },
        "training": training,
        "settings": {
            "minutes_per_row": minutes if step_budget is None else None,
            "steps_per_row": step_budget,
            "input_size": size,
            "device": device,
            "threads": torch.get_num_threads(),
            "width": width,
            "seed": seed,
            "data": {
                name: str(p)
                for name, p in zip(("train", "test", "real_train"), paths, strict=False)
            },
        },
        "minutes": round((time.perf_counter() - started) / 60.0, 2),
    }
    out.mkdir(parents=True, exist_ok=True)
    write_report(out, result, rows, sets["test"], detections)
    result["minutes"] = round((time.perf_counter() - started) / 60.0, 2)
    from simgen.io import atomic_write_text, dump_json

    atomic_write_text(out / "gap.json", dump_json(result))
    return result
