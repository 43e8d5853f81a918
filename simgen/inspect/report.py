"""One self-contained HTML page about a dataset: no external URL, no script, images inline.

Sections (their ``id`` attributes, in order): ``summary`` (counts and the validation result),
``samples`` (a contact sheet), ``class-balance``, ``instances``, ``boxes`` (size, aspect,
centre heat map), ``visibility``, ``comparison`` (only with a second dataset), ``config``
(``DIR/config.yaml``), ``provenance`` (a summary of ``DIR/records``) and ``gap`` (the table
in ``DIR/gap.json``, or a note that there is none). Pictures are PNG ``data:`` URIs. The page
holds no timestamp: the same inputs give the same page.

``gap.json`` format: ``{"rows": [{"train": name, "AP": float, "AP50": float, "AP75": float,
"per_class": {category: AP}, ...}], "conventions": {...}, "minutes": float}``; a label-efficiency
run adds ``curve`` (rows aggregated over seeds, with ``real_images`` and ``AP_std``) and
``summary`` (one sentence): the page then shows the curve, the sentence and
``label_efficiency.png`` from beside ``gap.json``.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from simgen.dataset.layout import CONFIG_FILE, GAP_FILE
from simgen.errors import SimgenError
from simgen.inspect.dataset import Dataset, is_number, load_json
from simgen.inspect.stats import DISTANCES, Values, collect, compare, summarize
from simgen.inspect.validate import ValidationReport, validate_dataset
from simgen.version import __version__

SECTIONS = (
    ("summary", "Summary"),
    ("samples", "Samples"),
    ("class-balance", "Class balance"),
    ("instances", "Instances per image"),
    ("boxes", "Boxes"),
    ("visibility", "Visibility"),
    ("comparison", "Comparison"),
    ("config", "Config"),
    ("provenance", "Provenance"),
    ("gap", "Sim-to-real gap"),
)
MAX_PROBLEMS_SHOWN = 50

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1280px; padding: 1em;
       color: #222; background: #fff; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; }
nav a { margin-right: 1em; } section { margin-bottom: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; height: auto; display: block; margin: 0.5em 0; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.row { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
.note { color: #666; font-style: italic; } .error { color: #b00; } .ok { color: #070; }
"""


def _e(value: Any) -> str:
    """HTML-escaped text of a value."""
    return html.escape(str(value), quote=True)


def fmt(value: Any) -> str:
    """Numbers for tables: ints as ints, floats with 4 significant digits, ``None`` as "–"."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not is_number(value):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"


def png_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` from a PNG's IHDR chunk."""
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def img_tag(data: bytes, alt: str) -> str:
    """An ``<img>`` with the PNG inline as a base64 ``data:`` URI and its size attributes."""
    width, height = png_size(data)
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f'<img src="data:image/png;base64,{encoded}" alt="{_e(alt)}" '
        f'width="{width}" height="{height}">'
    )


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "") -> str:
    """A ``<table>`` (cells escaped, numbers through :func:`fmt`)."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(fmt(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    attr = f' class="{_e(cls)}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _row(*parts: str) -> str:
    """Parts side by side (wrapping on narrow windows)."""
    return '<div class="row">' + "".join(f"<div>{p}</div>" for p in parts) + "</div>"


def _note(text: str) -> str:
    return f'<p class="note">{_e(text)}</p>'


def _describe_rows(stats: Sequence[Mapping[str, Any]], key: str) -> list[list[Any]]:
    """Rows ``[quantity, value per dataset...]`` of a described statistic."""
    return [[q, *(s[key][q] for s in stats)] for q in ("count", "mean", "median", "min", "max")]


def _summary(dataset: Dataset, stats: Mapping[str, Any], validation: ValidationReport) -> str:
    rows = [
        ["dataset", dataset.name],
        ["COCO file", str(dataset.coco_path)],
        ["images", stats["images"]],
        ["instances", stats["instances"]],
        ["categories", len(stats["class_counts"])],
        ["instances flagged ignore", stats["ignored"]],
        ["crowd regions", stats["crowd"]],
        ["validation errors", len(validation.errors)],
        ["validation warnings", len(validation.warnings)],
    ]
    out = [table(["quantity", "value"], rows, "summary")]
    verdict = "labels valid" if not validation.errors else "labels have errors"
    cls = "ok" if not validation.errors else "error"
    out.append(f'<p class="{cls}">simgen validate: {_e(verdict)}. {_e(validation.summary())}</p>')
    if validation.problems:
        shown = validation.problems[:MAX_PROBLEMS_SHOWN]
        items = "".join(f"<li>{_e(p)}</li>" for p in shown)
        more = len(validation.problems) - len(shown)
        out.append(f'<ul class="problems">{items}</ul>')
        if more:
            out.append(_note(f"… and {more} more (run simgen validate)."))
    return "".join(out)


def _class_balance(stats: Sequence[Mapping[str, Any]], labels: Sequence[str]) -> str:
    names = list(stats[0]["class_counts"])
    for s in stats[1:]:
        names += [n for n in s["class_counts"] if n not in names]
    header = ["category"]
    for label in labels:
        header += [f"instances ({label})", f"fraction ({label})"]
    rows = []
    for name in names:
        row: list[Any] = [name]
        for s in stats:
            row += [s["class_counts"].get(name, 0), s["class_fraction"].get(name, 0.0)]
        rows.append(row)
    return table(header, rows, "class-balance")


def _config(dataset: Dataset) -> str:
    if dataset.root is None or not (dataset.root / CONFIG_FILE).is_file():
        return _note("No config.yaml: not a simgen dataset directory.")
    text = (dataset.root / CONFIG_FILE).read_text(encoding="utf-8")
    lines = len(text.splitlines())
    return (
        f"<details><summary>{_e(dataset.root / CONFIG_FILE)} ({lines} lines; the resolved "
        f'config, re-render with simgen render)</summary><pre class="config">{_e(text)}</pre>'
        "</details>"
    )


def _range_rows(summary: Mapping[str, Any], keys: Sequence[tuple[str, str]]) -> list[list[Any]]:
    rows = []
    for key, label in keys:
        r = summary[key]
        rows.append([label, r["count"], r["min"], r["mean"], r["max"]])
    return rows


def _composite_provenance(records: Sequence[Mapping[str, Any]]) -> str:
    from simgen.inspect.provenance import summarize_composites

    s = summarize_composites(records)
    rows = [
        ["records (images)", s["images"]],
        ["backgrounds used", s["backgrounds"]],
        ["instances drawn / placed", f"{s['pastes']} / {s['placed']}"],
        *[[f"not placed: {k}", n] for k, n in s["not_placed_by_reason"].items()],
        ["placed but covered completely", s["hidden"]],
        ["instances flagged ignore", s["instances_ignored"]],
        *[[f"blend: {k}", n] for k, n in s["blend"].items()],
    ]
    categories = sorted(set(s["pastes_by_category"]) | set(s["instances_by_category"]))
    return "".join(
        [
            table(["quantity", "value"], rows, "provenance"),
            table(
                ["per image / instance", "count", "min", "mean", "max"],
                _range_rows(
                    s,
                    [
                        ("pastes_per_image", "instances drawn per image"),
                        ("rotation_deg", "rotation (deg)"),
                        ("scale", "scale (drawn x relative)"),
                        ("blur_sigma", "blur sigma matched (px)"),
                    ],
                ),
                "ranges",
            ),
            table(
                ["category", "instances drawn", "instances annotated"],
                [
                    [c, s["pastes_by_category"].get(c, 0), s["instances_by_category"].get(c, 0)]
                    for c in categories
                ],
                "categories",
            ),
        ]
    )


def _provenance(dataset: Dataset) -> str:
    from simgen.inspect.provenance import load_records, summarize_records

    if dataset.root is None:
        return _note("No records: not a simgen dataset directory.")
    records = load_records(dataset.root)
    if not records:
        return _note("The dataset directory holds no records.")
    if all("composite" in r for r in records):
        return _composite_provenance(records)
    s = summarize_records(records)
    out = [
        table(
            ["quantity", "value"],
            [
                ["records (images)", s["images"]],
                ["scenes", s["scenes"]],
                ["scenes at rest after physics", s["scenes_settled"]],
                ["instances annotated", sum(s["instances_by_category"].values())],
                ["instances flagged ignore", s["instances_ignored"]],
                ["objects with their original colours", s["objects_with_original_colour"]],
                ["objects with a texture", s["objects_textured"]],
            ],
            "provenance",
        ),
        table(
            ["per scene / image", "count", "min", "mean", "max"],
            _range_rows(
                s,
                [
                    ("views_per_scene", "views per scene"),
                    ("objects_per_scene", "labeled objects per scene"),
                    ("distractors_per_scene", "distractors per scene"),
                    ("props_per_scene", "props per scene"),
                    ("lights_per_scene", "lights per scene"),
                    ("camera_distance_m", "camera distance from table centre (m)"),
                    ("camera_elevation_deg", "camera elevation (deg)"),
                    ("camera_vfov_deg", "camera vertical field of view (deg)"),
                ],
            ),
            "ranges",
        ),
    ]
    categories = sorted(set(s["objects_by_category"]) | set(s["instances_by_category"]))
    out.append(
        table(
            ["category", "objects placed", "instances annotated"],
            [
                [c, s["objects_by_category"].get(c, 0), s["instances_by_category"].get(c, 0)]
                for c in categories
            ],
            "categories",
        )
    )
    out.append(
        table(
            ["light kind", "lights", "intensity min", "intensity max"],
            [
                [
                    k,
                    n,
                    s["light_intensity_by_kind"][k]["min"],
                    s["light_intensity_by_kind"][k]["max"],
                ]
                for k, n in s["lights_by_kind"].items()
            ],
            "lights",
        )
    )
    return "".join(out)


def load_gap(dataset: Dataset) -> dict[str, Any] | None:
    """``DIR/gap.json`` (beside the COCO file for non-simgen data), or ``None`` if absent.

    Raises:
        SimgenError: the file is not JSON or ``rows`` is not a list of objects.
    """
    folder = dataset.root if dataset.root is not None else dataset.coco_path.parent
    path = folder / GAP_FILE
    if not path.is_file():
        return None
    gap = load_json(path)
    if not isinstance(gap, dict) or not isinstance(gap.get("rows"), list):
        raise SimgenError("expected an object with a list 'rows'", file=path, field="rows")
    for i, row in enumerate(gap["rows"]):
        if not isinstance(row, dict):
            raise SimgenError("not an object", file=path, field=f"rows.{i}")
    return gap


def _gap(dataset: Dataset) -> str:
    gap = load_gap(dataset)
    if gap is None:
        return _note(f"No gap results: {GAP_FILE} does not exist for this dataset.")
    folder = dataset.root if dataset.root is not None else dataset.coco_path.parent
    curve = gap.get("curve")
    if isinstance(curve, list) and all(isinstance(r, dict) for r in curve) and curve:
        return _gap_curve(gap, curve, folder / "label_efficiency.png")
    rows = gap["rows"]
    classes: list[str] = []
    for row in rows:
        per_class = row.get("per_class") if isinstance(row.get("per_class"), dict) else {}
        classes += [str(c) for c in per_class if str(c) not in classes]
    body = []
    for row in rows:
        per_class = row.get("per_class") if isinstance(row.get("per_class"), dict) else {}
        per_class = {str(k): v for k, v in per_class.items()}
        body.append(
            [row.get("train"), row.get("AP"), row.get("AP50"), row.get("AP75")]
            + [per_class.get(c) for c in classes]
        )
    out = [table(["train", "AP", "AP50", "AP75", *(f"AP {c}" for c in classes)], body, "gap")]
    out.append(_gap_footer(gap))
    return "".join(out)


def _gap_footer(gap: dict[str, Any]) -> str:
    """The conventions table and the run time of a gap.json."""
    out = []
    conventions = gap.get("conventions")
    if isinstance(conventions, dict) and conventions:
        out.append(
            table(["convention", "value"], [[k, v] for k, v in conventions.items()], "conventions")
        )
    if is_number(gap.get("minutes")):
        out.append(f"<p>Run time: {_e(fmt(gap['minutes']))} minutes.</p>")
    return "".join(out)


def _gap_curve(gap: dict[str, Any], curve: list[dict[str, Any]], plot) -> str:
    """The label-efficiency table (mean ± spread over seeds), its sentence and its plot."""

    def spread(row: dict[str, Any], metric: str) -> str:
        value, std = row.get(metric), row.get(f"{metric}_std")
        if not is_number(value):
            return "-"
        return f"{fmt(value)} ± {fmt(std)}" if is_number(std) else fmt(value)

    body = [
        [row.get("train"), row.get("real_images"), row.get("seeds"),
         *(spread(row, m) for m in ("AP", "AP50", "AP75"))]
        for row in curve
    ]  # fmt: skip
    out = [table(["train", "real images", "seeds", "AP", "AP50", "AP75"], body, "gap")]
    if isinstance(gap.get("summary"), str):
        out.append(f"<p>{_e(gap['summary'])}</p>")
    if plot.is_file():
        out.append(img_tag(plot.read_bytes(), "label efficiency"))
    out.append(_gap_footer(gap))
    return "".join(out)


def _comparison(distances: Mapping[str, Mapping[str, Any]]) -> str:
    rows = [[key, distances[key]["value"], DISTANCES[key]] for key in DISTANCES]
    out = [table(["statistic", "distance", "metric"], rows, "distances")]
    balance = distances["class_balance"]
    for side, names in (("first", balance["only_in_first"]), ("second", balance["only_in_second"])):
        if names:
            out.append(_note(f"Categories only in the {side} dataset: {', '.join(names)}."))
    return "".join(out)


def build_report(dataset: Dataset, *, n: int = 12, other: Dataset | None = None) -> str:
    """The HTML page of a dataset (see the module docstring).

    Args:
        dataset: the dataset (images on disk for the sample grid).
        n: images on the contact sheet.
        other: optional second dataset (e.g. real data) to compare with.

    Raises:
        SimgenError: unreadable records, gap.json or images.
    """
    from simgen.inspect.plots import figure_png
    from simgen.inspect.preview import contact_sheet
    from simgen.io import encode_png

    # the files that may be malformed are read first, so bad input fails before any plotting
    gap, provenance, config = _gap(dataset), _provenance(dataset), _config(dataset)
    values: list[Values] = [collect(dataset.coco, dataset.name)]
    if other is not None:
        values.append(collect(other.coco, other.name))
    stats = [summarize(v) for v in values]
    labels = ["this dataset"] + (["other"] if other is not None else [])
    validation = validate_dataset(dataset)
    second = values[1] if other is not None else None
    sheet = encode_png(contact_sheet(dataset, n=n))

    def plot(keys: Sequence[str], alt: str, columns: int = 3) -> str:
        return img_tag(figure_png(keys, values[0], second, columns=columns), alt)

    has_visibility = values[0].visibility.size > 0
    body = {
        "summary": _summary(dataset, stats[0], validation),
        "samples": (
            f"<p>{min(n, stats[0]['images'])} images spread over the dataset; masks filled, "
            "visible boxes thick, amodal boxes thin, instances flagged ignore in red.</p>"
            + img_tag(sheet, "contact sheet of labeled images")
        ),
        "class-balance": _row(
            plot(["class_balance"], "class balance", 1), _class_balance(stats, labels)
        ),
        "instances": _row(
            plot(["instances_per_image"], "instances per image", 1),
            table(["instances per image", *labels], _describe_rows(stats, "instances_per_image")),
        ),
        "boxes": plot(["box_size", "aspect", "centres"], "box size, aspect and centres", 4)
        + _row(
            table(["box size / diagonal", *labels], _describe_rows(stats, "box_size")),
            table(["log(w / h)", *labels], _describe_rows(stats, "aspect")),
        ),
        "visibility": (
            _row(
                plot(["visibility"], "visibility histogram", 1),
                table(["visib_fract", *labels], _describe_rows(stats, "visibility")),
            )
            if has_visibility
            else _note("No visib_fract in this dataset's annotations.")
        ),
        "config": config,
        "provenance": provenance,
        "gap": gap,
    }
    if other is not None:
        body["comparison"] = f"<p>Compared with {_e(other.name)}.</p>" + _comparison(
            compare(values[0], values[1])
        )
    present = [(sid, title) for sid, title in SECTIONS if sid in body]
    nav = "".join(f'<a href="#{sid}">{_e(title)}</a>' for sid, title in present)
    sections = "".join(
        f'<section id="{sid}"><h2>{_e(title)}</h2>{body[sid]}</section>' for sid, title in present
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>simgen report: {_e(dataset.name)}</title><style>{STYLE}</style></head>"
        f"<body><header><h1>simgen report</h1><p>{_e(dataset.name)}</p><nav>{nav}</nav></header>"
        f"{sections}<footer><p>Made by simgen {_e(__version__)} (simgen report).</p></footer>"
        "</body></html>\n"
    )
