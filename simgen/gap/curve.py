"""The label-efficiency protocol: how many real photos does the synthetic data save?

For each count k of real training images (a seeded subset of the real pool, nested: the
subset of k is the first k of one seeded permutation, so it contains every smaller one) and
each seed, three kinds of training are scored: ``real`` (the k photos only),
``synthetic→real`` (synthetic data, then fine-tuned on the k photos) and ``synthetic+real``
(each batch draws half from each). k = 0 is the ``synthetic`` row alone. This module holds the
pure parts: subsets, aggregation over seeds, and the sentence that sums the curve up.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

import numpy as np

from simgen.errors import SimgenError

KINDS = ("real", "synthetic→real", "synthetic+real")
"""Training kinds at each count k > 0 (k = 0 is ``synthetic``)."""

METRICS = ("AP", "AP50", "AP75")


def parse_counts(text: str, pool: int | None) -> list[int]:
    """``"0,5,10,30"`` (``all`` = the whole pool) -> sorted unique counts.

    Raises:
        SimgenError: not integers, negative, larger than the real pool, or k > 0 without a pool.
    """
    counts = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part == "all":
            if pool is None:
                raise SimgenError("'all' needs --real-train", file="--real-counts", field=part)
            counts.add(pool)
            continue
        try:
            value = int(part)
        except ValueError:
            raise SimgenError(
                "expected integers or 'all'", file="--real-counts", field=part
            ) from None
        if value < 0:
            raise SimgenError("counts must be >= 0", file="--real-counts", field=part)
        if value > 0 and pool is None:
            raise SimgenError(
                "counts above 0 need real training images (--real-train)",
                file="--real-counts",
                field=part,
            )
        if pool is not None and value > pool:
            raise SimgenError(
                f"k = {value} is larger than the real training set ({pool} images)",
                file="--real-counts",
                field=part,
            )
        counts.add(value)
    if not counts:
        raise SimgenError("no counts given", file="--real-counts")
    return sorted(counts)


def nested_subsets(pool: int, counts: Sequence[int], seed: int) -> dict[int, np.ndarray]:
    """For each count k, the indices of the k real images used with ``seed``.

    One permutation of ``range(pool)`` drawn from ``seed``; subset k is its first k entries
    (sorted), so subsets are nested and the same for every run with that seed.

    Returns:
        ``{k: (k,) int64 sorted indices}``.
    """
    order = np.random.default_rng([seed, 0x5EA1]).permutation(pool)
    return {k: np.sort(order[:k]).astype(np.int64) for k in counts}


def aggregate(rows: Sequence[dict[str, Any]], classes: Sequence[str]) -> list[dict[str, Any]]:
    """Mean and spread over seeds of every (train, real_images) pair.

    Args:
        rows: one row per trained model with ``train``, ``real_images``, ``seed``, ``backbone``,
            the :data:`METRICS` (and ``val_`` + each, when a validation set was scored),
            ``per_class`` and ``per_class_AP50`` (and ``val_per_class_AP50``, ``kitti_AP_R40``,
            ``kitti_AP_R40_easy``, ``kitti_AP_R40_hard``, ``val_kitti_AP_R40`` where scored).
        classes: class names (for the per-class means).

    Returns:
        Rows in first-seen order with ``train``, ``real_images``, ``backbone``, ``seeds``, each
        metric's mean and its ``_std`` (population standard deviation over seeds; 0 for one
        seed), ``per_class`` and ``per_class_AP50`` means (``None`` where a class has no
        ground truth) and their spreads ``per_class_std`` and ``per_class_AP50_std`` (and the
        same for ``val_per_class_AP50``, the ``kitti_AP_R40`` keys and ``val_kitti_AP_R40``).
    """
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["train"], row["real_images"]), []).append(row)
    out = []
    for (train, count), members in groups.items():
        entry: dict[str, Any] = {
            "train": train,
            "real_images": count,
            "backbone": members[0]["backbone"],
            "seeds": len(members),
        }
        scored = [*METRICS, *(f"val_{m}" for m in METRICS if f"val_{m}" in members[0])]
        for metric in scored:
            values = [m[metric] for m in members]
            entry[metric] = statistics.fmean(values)
            entry[f"{metric}_std"] = statistics.pstdev(values)
        optional = (
            "val_per_class_AP50",
            "kitti_AP_R40",
            "kitti_AP_R40_easy",
            "kitti_AP_R40_hard",
            "val_kitti_AP_R40",
        )
        per_class = ["per_class", "per_class_AP50", *(k for k in optional if k in members[0])]
        for key in per_class:
            means, spreads = {}, {}
            for name in classes:
                values = [m[key][name] for m in members if m[key].get(name) is not None]
                means[name] = statistics.fmean(values) if values else None
                spreads[name] = statistics.pstdev(values) if values else None
            entry[key] = means
            entry[f"{key}_std"] = spreads
        out.append(entry)
    return out


def _photos(k: int) -> str:
    return f"{k} real photo" + ("" if k == 1 else "s")


def summary_sentence(curve: Sequence[dict[str, Any]], metric: str = "AP") -> str:
    """One sentence computed from the aggregated curve: what the synthetic data is worth.

    The synthetic kinds (``synthetic``, ``synthetic→real``, ``synthetic+real``) at each count
    are compared with the real-only curve: the claim is the largest real-only count whose mean
    ``metric`` a synthetic kind reaches with fewer real photos.
    """
    real = {r["real_images"]: r[metric] for r in curve if r["train"] == "real"}
    synthetic = [r for r in curve if r["train"] != "real"]
    if not synthetic:
        return "No synthetic row was trained."
    if not real:
        best = max(synthetic, key=lambda r: r[metric])
        if best["train"] == "synthetic":
            who = "Synthetic data alone reaches"
        else:  # a row that also trained on real photos: say so
            who = f"{best['train'].capitalize()} with {best['real_images']} real photos reaches"
        return (
            f"{who} {metric} {best[metric]:.3f}; no real-only row was "
            "trained to compare with (give --real-train and counts above 0)."
        )
    best_claim = None
    for row in synthetic:
        k = row["real_images"]
        matched = [kr for kr, value in real.items() if kr > k and row[metric] >= value]
        if matched:
            claim = (max(matched) - k, max(matched), k, row)
            if best_claim is None or claim[:2] > best_claim[:2]:
                best_claim = claim
    if best_claim is not None:
        _, kr, k, row = best_claim
        what = "synthetic data alone" if k == 0 else f"{row['train']} with {_photos(k)}"
        return (
            f"{what[0].upper()}{what[1:]} reaches the {metric} of {_photos(kr)} "
            f"({row[metric]:.3f} >= {real[kr]:.3f}): the synthetic data saved "
            f"{kr - k} real photos."
        )
    better = [
        r for r in synthetic if r["real_images"] in real and r[metric] > real[r["real_images"]]
    ]
    if better:
        row = max(better, key=lambda r: r[metric] - real[r["real_images"]])
        k = row["real_images"]
        return (
            f"{row['train']} beats real-only at {_photos(k)} ({row[metric]:.3f} against "
            f"{real[k]:.3f} {metric}), but reaches no larger real-only count."
        )
    return "Synthetic data did not help at any count measured."
