"""simgen composite: exact masks, determinism, resume, placement, class balance, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from simgen.cli import main
from simgen.composite.config import CompositeConfig, load_composite_config
from simgen.composite.paste import (
    Warped,
    feather_alpha,
    match_appearance,
    noise_level,
    paste,
    warp_cutout,
)
from simgen.composite.run import composite_dataset
from simgen.composite.sources import load_cutouts
from simgen.errors import SimgenError
from tests.coco_checks import check_exact, decode
from tests.helpers import CLASS_SIZES, make_backgrounds, make_sources, random_blob


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("composite-inputs")
    return {
        "sources": make_sources(base / "sources"),
        "white": make_sources(base / "white", white=True),
        "backgrounds": make_backgrounds(base / "backgrounds"),
        "black": make_backgrounds(base / "black", black=True),
    }


EXACT = {
    "placement": {"region": "anywhere"},
    "appearance": {
        "match_brightness": False,
        "match_blur": False,
        "brightness": [0, 0],
        "contrast": [1, 1],
    },
    "transform": {"scale_mode": "absolute", "scale": [0.6, 1.4]},
}


def _config(**fields) -> CompositeConfig:
    data = {"num_images": 12, "count": [1, 4], **EXACT}
    for key, value in fields.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return CompositeConfig.model_validate(data)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


# --------------------------------------------------------------------------------------------
# Pure paste functions
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [0.25, 1.0, 3.0, 20.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_feather_alpha_splits_exactly_at_the_mask(width, seed):
    mask = random_blob(np.random.default_rng(seed), (40, 50))
    alpha = feather_alpha(mask, width)
    assert (alpha[mask] > 0.5).all() and (alpha[~mask] < 0.5).all()


@pytest.mark.parametrize("blend", ["hard", "feather", "difference"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_paste_white_on_black_shows_exactly_the_mask(blend, seed):
    rng = np.random.default_rng(seed)
    mask = random_blob(rng, (30, 40))
    # White on the mask; its surroundings black (what ``difference`` measures the defect from).
    patch = np.where(mask[..., None], 255.0, 0.0).astype(np.float32).repeat(3, axis=2)
    warped = Warped(patch=patch, mask=mask, valid=np.ones_like(mask))
    canvas = np.zeros((60, 70, 3), np.uint8)
    x, y = int(rng.integers(0, 30)), int(rng.integers(0, 30))
    out = paste(canvas, warped, x, y, blend=blend, feather_px=float(rng.uniform(0.5, 6)))
    expected = np.zeros((60, 70), bool)
    expected[y : y + 30, x : x + 40] = mask
    assert np.array_equal(out[..., 0] >= 128, expected)
    if blend in ("hard", "difference"):
        assert (out[expected] == 255).all() and (out[~expected] == 0).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_difference_moves_the_target_by_the_defect_and_nothing_else(seed):
    """A defect 40 levels darker than its own surface (100) lands 40 levels darker than the
    target's textured surface, on exactly the mask; no other pixel changes."""
    rng = np.random.default_rng(seed)
    mask = random_blob(rng, (30, 40))
    patch = np.where(mask[..., None], 60.0, 100.0).astype(np.float32).repeat(3, axis=2)
    warped = Warped(patch=patch, mask=mask, valid=np.ones_like(mask))
    canvas = rng.integers(120, 200, (60, 70, 3), dtype=np.uint8)
    out = paste(canvas, warped, 12, 17, blend="difference")
    where = np.zeros((60, 70), bool)
    where[17:47, 12:52] = mask
    assert np.array_equal(out[~where], canvas[~where])
    assert np.array_equal(out[where].astype(int), canvas[where].astype(int) - 40)


@pytest.mark.parametrize("seed", [0, 1])
def test_noise_matching_brings_a_smooth_patch_to_the_background_noise(seed):
    rng = np.random.default_rng(seed)
    mask = random_blob(rng, (40, 50))
    warped = Warped(
        patch=np.full((40, 50, 3), 120.0, np.float32), mask=mask, valid=np.ones_like(mask)
    )
    background = np.clip(128 + 6.0 * rng.standard_normal((40, 50, 1)), 0, 255)
    background = background.repeat(3, axis=2).astype(np.uint8)
    common = {"match_brightness": False, "match_blur": False, "offset": 0.0, "gain": 1.0}
    plain, _ = match_appearance(warped, background, **common)
    noisy, _ = match_appearance(warped, background, noise_seed=seed, **common)
    assert np.array_equal(plain.patch, warped.patch)
    target = noise_level(background.mean(axis=2).astype(np.float32))
    assert abs(noise_level(noisy.patch.mean(axis=2)) / target - 1.0) < 0.15
    again, _ = match_appearance(warped, background, noise_seed=seed, **common)
    assert np.array_equal(again.patch, noisy.patch)  # the seed decides the noise


@pytest.mark.parametrize("seed", [0, 1])
def test_poisson_changes_only_the_cloned_region(seed):
    rng = np.random.default_rng(seed)
    mask = random_blob(rng, (30, 40))
    patch = rng.uniform(0, 255, (30, 40, 3)).astype(np.float32)
    warped = Warped(patch=patch, mask=mask, valid=np.ones_like(mask))
    canvas = rng.integers(0, 255, (80, 90, 3), dtype=np.uint8)
    margin = 3
    out = paste(canvas, warped, 20, 25, blend="poisson", poisson_margin=margin)
    region = np.zeros((80, 90), bool)
    region[25:55, 20:60] = cv2.dilate(mask.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    assert np.array_equal(out[~region], canvas[~region])
    assert (out[25:55, 20:60][mask] != canvas[25:55, 20:60][mask]).any()
    # The clone lands where it was put: inside the mask, gradients follow the patch.
    inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    got = np.diff(out[25:55, 20:60, 0].astype(float), axis=1)[inner[:, 1:] & inner[:, :-1]]
    want = np.diff(patch[..., 0].astype(float), axis=1)[inner[:, 1:] & inner[:, :-1]]
    assert np.corrcoef(got, want)[0, 1] > 0.9


@pytest.mark.parametrize("angle", [0.0, 33.0, 90.0, -150.0])
@pytest.mark.parametrize("scale", [0.5, 1.0, 1.7])
def test_warp_keeps_the_mask_area_and_crops_to_it(angle, scale):
    mask = random_blob(np.random.default_rng(3), (40, 50))
    patch = np.zeros((40, 50, 3), np.uint8)
    warped = warp_cutout(
        patch,
        mask,
        angle_deg=angle,
        scale=scale,
        flip_horizontal=True,
        flip_vertical=False,
        context=2,
    )
    assert warped is not None
    ratio = warped.mask.sum() / (mask.sum() * scale**2)
    assert 0.85 < ratio < 1.15
    x0, y0, x1, y1 = warped.mask_box
    h, w = warped.mask.shape
    assert x0 <= 2 and y0 <= 2 and w - x1 <= 2 and h - y1 <= 2


# --------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("blend", ["hard", "feather"])
@pytest.mark.parametrize("overlap", ["avoid", "allow"])
@pytest.mark.parametrize("seed", [0, 5])
def test_stored_masks_are_exactly_the_pasted_pixels(tmp_path, inputs, blend, overlap, seed):
    weights = {"feather": 0, "poisson": 0, "hard": 0, blend: 1}
    config = _config(seed=seed, blend=weights, placement={"overlap": overlap}, count=[2, 5])
    out = tmp_path / "out"
    summary = composite_dataset(config, inputs["white"], inputs["black"], out)
    coco = json.loads((out / "annotations.json").read_text())
    assert check_exact(coco) == sum(summary.instances.values()) > 0
    by_image: dict[int, list] = {}
    for ann in coco["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    for image in coco["images"]:
        pixels = cv2.imread(str(out / "images" / image["file_name"]), cv2.IMREAD_UNCHANGED)
        assert pixels.ndim == 2  # grayscale backgrounds give grayscale composites
        masks = [decode(a).astype(bool) for a in by_image.get(image["id"], [])]
        union = np.zeros(pixels.shape, bool)
        for mask in masks:
            assert not (union & mask).any()  # visible masks never overlap
            union |= mask
        if blend == "feather" and overlap == "allow":
            # Two feathered edges that overlap can add up past 128 on a pixel neither owns;
            # every owned pixel is still dominated by its instance.
            assert (pixels[union] >= 128).all()
        else:
            assert np.array_equal(pixels >= 128, union)


@pytest.mark.parametrize("rim", [0, 3])
@pytest.mark.parametrize("seed", [0, 5])
def test_difference_blend_changes_only_instance_pixels(tmp_path, inputs, rim, seed):
    """With the defect transferred as a difference, every pixel farther than the rim from the
    instances' masks is the background's own (rim 0: exactly the masks' pixels change)."""
    weights = {"feather": 0, "poisson": 0, "hard": 0, "difference": 1}
    config = _config(
        seed=seed,
        blend={**weights, "difference_rim_px": rim},
        count=[2, 4],
        placement={"overlap": "allow"},
    )
    out = tmp_path / "out"
    summary = composite_dataset(config, inputs["sources"], inputs["backgrounds"], out)
    coco = json.loads((out / "annotations.json").read_text())
    assert check_exact(coco) == sum(summary.instances.values()) > 0
    changed_inside = changed_rim = False
    for image in coco["images"]:
        stem = Path(image["file_name"]).stem
        record = json.loads((out / "records" / f"{stem}.json").read_text())
        background = cv2.imread(
            str(inputs["backgrounds"] / record["composite"]["background"]), cv2.IMREAD_UNCHANGED
        )
        pixels = cv2.imread(str(out / "images" / image["file_name"]), cv2.IMREAD_UNCHANGED)
        union = np.zeros(pixels.shape, bool)
        for ann in coco["annotations"]:
            if ann["image_id"] == image["id"]:
                union |= decode(ann).astype(bool)
        distance = cv2.distanceTransform((~union).astype(np.uint8), cv2.DIST_L2, 5)
        reach = distance <= rim
        assert np.array_equal(pixels[~reach], background[~reach])
        changed = pixels != background
        changed_inside |= bool(changed[union].any())
        changed_rim |= bool(changed[reach & ~union].any())
    assert changed_inside and changed_rim == (rim > 0)


@pytest.mark.parametrize("seed", [0, 3])
def test_labeled_backgrounds_keep_their_instances(tmp_path, inputs, seed):
    """background_labels: a labeled image used as background keeps every instance of its mask
    (class from its folder) pixel for pixel; pastes avoid them; the record lists them."""
    from simgen.formats.mask_folder import mask_instances

    config = _config(seed=seed, background_labels=True, count=[1, 3], num_images=10)
    out = tmp_path / "out"
    composite_dataset(config, inputs["sources"], inputs["sources"], out)
    coco = json.loads((out / "annotations.json").read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    assert check_exact(coco) > 0
    kept = 0
    for image in coco["images"]:
        stem = Path(image["file_name"]).stem
        record = json.loads((out / "records" / f"{stem}.json").read_text())
        background = inputs["sources"] / record["composite"]["background"]
        mask = cv2.imread(str(background.with_suffix(".png")), cv2.IMREAD_GRAYSCALE) >= 128
        expected = mask_instances(mask)
        labels = record["composite"]["background_labels"]
        assert len(labels) == len(expected) > 0
        anns = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
        for label, want in zip(labels, expected, strict=True):
            assert label["category"] == background.parent.name
            # the instance is there, untouched (pastes avoid it), with its folder's class
            same = [a for a in anns if np.array_equal(decode(a).astype(bool), want)]
            assert len(same) == 1 and names[same[0]["category_id"]] == label["category"]
            kept += 1
        pasted = [p for p in record["composite"]["pastes"] if p["placed"] and not p.get("hidden")]
        assert len(anns) == len(labels) + len(pasted)
    assert kept >= 10


def test_labeled_background_of_an_unknown_class_is_one_line(tmp_path, capsys, inputs):
    backgrounds = tmp_path / "labeled"
    shutil.copytree(inputs["sources"], backgrounds)
    (backgrounds / "spot").rename(backgrounds / "rust")
    out = tmp_path / "out"
    code = main(_cli(inputs["sources"], backgrounds, out, "--set", "background_labels=true"))
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "img_0.png" in err and "class 'rust'" in err
    assert not out.exists()


def test_positions_like_the_source_and_one_class_per_image(tmp_path, inputs):
    """position: source puts each instance near where it sat in its own image (mirrored with
    its flips); one_class_per_image gives every image a single class."""
    config = _config(
        seed=2,
        num_images=20,
        count=[2, 3],
        one_class_per_image=True,
        placement={"position": "source", "position_jitter": 0.02, "overlap": "allow"},
        transform={"scale_mode": "relative", "scale": [1.0, 1.0], "rotation_deg": [0, 0]},
    )
    out = tmp_path / "out"
    composite_dataset(config, inputs["sources"], inputs["backgrounds"], out)
    cutouts, _ = load_cutouts(inputs["sources"], context=config.transform.context_px)
    by_source = {(c.source, c.annotation_id): c for c in cutouts}
    coco = json.loads((out / "annotations.json").read_text())
    offsets = []
    for image in coco["images"]:
        record = json.loads((out / "records" / f"{Path(image['file_name']).stem}.json").read_text())
        placed = [p for p in record["composite"]["pastes"] if p.get("placed")]
        assert len({p["category"] for p in record["composite"]["pastes"]}) == 1
        anns = {a["instance_id"]: a for a in record["annotations"]}
        for entry in placed:
            if entry.get("hidden"):
                continue
            cutout = by_source[(entry["source"], entry["annotation_id"])]
            fx, fy = cutout.centre
            fx = 1 - fx if entry["flip_horizontal"] else fx
            fy = 1 - fy if entry["flip_vertical"] else fy
            x, y, w, h = anns[entry["instance_id"]]["bbox_amodal"]
            offsets.append(
                max(abs((x + w / 2) / image["width"] - fx), abs((y + h / 2) / image["height"] - fy))
            )
    assert offsets and float(np.median(offsets)) < 0.06


def test_instances_stay_whole_inside_the_image(tmp_path, inputs):
    """Every placed instance keeps all of its warped pixels: replaying the warp from the record
    gives the stored amodal area, and its box lies inside the image."""
    config = _config(count=[3, 6], seed=3, transform={"scale": [0.8, 2.5]})
    out = tmp_path / "out"
    composite_dataset(config, inputs["sources"], inputs["backgrounds"], out)
    cutouts, _ = load_cutouts(inputs["sources"], context=config.transform.context_px)
    by_key = {(c.source, c.annotation_id): c for c in cutouts}
    checked = 0
    for path in sorted((out / "records").glob("*.json")):
        record = json.loads(path.read_text())
        width, height = record["image"]["width"], record["image"]["height"]
        annotations = {a["instance_id"]: a for a in record["annotations"]}
        for entry in record["composite"]["pastes"]:
            if not entry["placed"] or entry.get("hidden"):
                continue
            cutout = by_key[(entry["source"], entry["annotation_id"])]
            warped = warp_cutout(
                cutout.patch,
                cutout.mask,
                angle_deg=entry["angle_deg"],
                scale=entry["scale"] * entry["relative_scale"],
                flip_horizontal=entry["flip_horizontal"],
                flip_vertical=entry["flip_vertical"],
                context=config.transform.context_px,
            )
            ann = annotations[entry["instance_id"]]
            assert ann["area_amodal"] == int(warped.mask.sum())
            x, y, w, h = ann["bbox_amodal"]
            assert x >= 0 and y >= 0 and x + w <= width and y + h <= height
            checked += 1
    assert checked > 20


def test_foreground_region_keeps_instances_on_the_part(tmp_path, inputs):
    """Backgrounds with a dark border: with region foreground no mask pixel lands on it."""
    backgrounds = tmp_path / "framed"
    backgrounds.mkdir()
    image = np.full((100, 120), 120, np.uint8)
    image[:, :30] = 5
    cv2.imwrite(str(backgrounds / "framed.bmp"), image)
    config = _config(placement={"region": "foreground"}, count=[2, 4], num_images=10)
    out = tmp_path / "out"
    composite_dataset(config, inputs["sources"], backgrounds, out)
    coco = json.loads((out / "annotations.json").read_text())
    assert coco["annotations"]
    for ann in coco["annotations"]:
        assert not decode(ann)[:, :30].any()


RECIPE = Path(__file__).resolve().parents[1] / "configs/composite_thin_defects.yaml"


def _recipe_config(name: str, **fields) -> CompositeConfig:
    """``every_blend``: all four blend modes mixed; ``thin_recipe``: the shipped recipe."""
    if name == "thin_recipe":
        data = {**load_composite_config(RECIPE).model_dump(mode="json"), "num_images": 12}
        for key, value in fields.items():
            data[key] = {**data[key], **value} if isinstance(value, dict) else value
        return CompositeConfig.model_validate(data)
    blend = {"feather": 1, "poisson": 1, "hard": 1, "difference": 1}
    return _config(blend=blend, **fields)


@pytest.mark.parametrize("recipe", ["every_blend", "thin_recipe"])
def test_deterministic_and_seed_dependent(tmp_path, inputs, recipe):
    config = _recipe_config(recipe)
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    composite_dataset(config, inputs["sources"], inputs["backgrounds"], a)
    composite_dataset(config, inputs["sources"], inputs["backgrounds"], b)
    composite_dataset(
        config.model_copy(update={"seed": 9}), inputs["sources"], inputs["backgrounds"], c
    )
    assert _files(a) == _files(b)
    files_c = _files(c)
    assert any(files_c[k] != v for k, v in _files(a).items() if k.startswith("images/"))


@pytest.mark.parametrize("recipe", ["every_blend", "thin_recipe"])
def test_resume_after_interruption_is_byte_identical(tmp_path, inputs, recipe):
    config = _recipe_config(recipe, effects=[{"name": "gauss_noise", "p": 0.5}])
    full, cut = tmp_path / "full", tmp_path / "cut"
    composite_dataset(config, inputs["sources"], inputs["backgrounds"], full)
    # A run killed after 5 images: 5 records, a 6th image without its record, a temporary.
    composite_dataset(
        config.model_copy(update={"num_images": 5}), inputs["sources"], inputs["backgrounds"], cut
    )
    (cut / "annotations.json").unlink()
    shutil.copy(full / "images" / "000005.png", cut / "images" / "000005.png")
    (cut / "images" / "000006.png.tmp-123").write_bytes(b"half")
    summary = composite_dataset(config, inputs["sources"], inputs["backgrounds"], cut)
    assert summary.resumed == 5 and summary.composed == 7
    assert _files(cut) == _files(full)


def test_effects_change_pixels_not_labels(tmp_path, inputs):
    plain, noisy = tmp_path / "plain", tmp_path / "noisy"
    config = _config()
    composite_dataset(config, inputs["sources"], inputs["backgrounds"], plain)
    with_noise = config.model_copy(
        update={
            "effects": load_composite_config(None, ["effects=[{name: gauss_noise, p: 1}]"]).effects
        }
    )
    composite_dataset(with_noise, inputs["sources"], inputs["backgrounds"], noisy)
    a = json.loads((plain / "annotations.json").read_text())["annotations"]
    b = json.loads((noisy / "annotations.json").read_text())["annotations"]
    assert a == b
    assert (plain / "images" / "000000.png").read_bytes() != (
        noisy / "images" / "000000.png"
    ).read_bytes()


def _class_counts(out: Path) -> dict[str, int]:
    coco = json.loads((out / "annotations.json").read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    counts = dict.fromkeys(CLASS_SIZES, 0)
    for ann in coco["annotations"]:
        counts[names[ann["category_id"]]] += 1
    return counts


@pytest.mark.parametrize(
    "balance",
    ["uniform", {"scratch": 1, "dent": 0, "spot": 3}],
    ids=["uniform", "weights"],
)
def test_class_balance_is_honoured(tmp_path, inputs, balance):
    n = 300
    config = _config(num_images=n, count=[1, 1], balance=balance, transform={"scale": [0.5, 0.7]})
    out = tmp_path / "out"
    composite_dataset(config, inputs["sources"], inputs["backgrounds"], out)
    counts = _class_counts(out)
    assert sum(counts.values()) == n  # small instances: every one placed
    if balance == "uniform":
        target = dict.fromkeys(CLASS_SIZES, 1 / 3)
    else:
        target = {"scratch": 0.25, "dent": 0.0, "spot": 0.75}
    for name, p in target.items():
        sigma = np.sqrt(n * p * (1 - p))
        assert abs(counts[name] - n * p) <= 4 * sigma, (name, counts)


@pytest.mark.parametrize("recipe", ["every_blend", "thin_recipe"])
def test_validate_accepts_composites(tmp_path, inputs, recipe):
    from simgen.inspect.dataset import open_dataset
    from simgen.inspect.validate import validate_dataset

    out = tmp_path / "out"
    config = _recipe_config(recipe, placement={"overlap": "allow"})
    composite_dataset(config, inputs["sources"], inputs["backgrounds"], out, formats=["yolo"])
    report = validate_dataset(open_dataset(out))
    assert not report.errors and not report.warnings
    coco = json.loads((out / "annotations.json").read_text())
    lines = [p.read_text().splitlines() for p in sorted((out / "yolo/labels").glob("*.txt"))]
    assert sum(map(len, lines)) == len(coco["annotations"])


def test_coco_source_round_trip(tmp_path, inputs):
    """A composite dataset is itself a valid instance source (COCO path)."""
    first = tmp_path / "first"
    composite_dataset(_config(), inputs["sources"], inputs["backgrounds"], first)
    cutouts, categories = load_cutouts(first)
    coco = json.loads((first / "annotations.json").read_text())
    assert len(cutouts) == len(coco["annotations"])
    assert set(categories) <= set(CLASS_SIZES)


# --------------------------------------------------------------------------------------------
# Bad input: one line naming the file (and field), exit 2, nothing written
# --------------------------------------------------------------------------------------------


def _cli(sources: Path, backgrounds: Path, out: Path, *extra: str) -> list[str]:
    return [
        "composite", "--instances", str(sources), "--backgrounds", str(backgrounds),
        "--out", str(out), "--num", "3", "--quiet", *extra,
    ]  # fmt: skip


def _broken_sources(tmp_path: Path, case: str) -> tuple[Path, str]:
    root = make_sources(tmp_path / "src")
    image = root / "dent" / "img_1.bmp"
    if case == "size_mismatch":
        cv2.imwrite(str(image.with_suffix(".png")), np.zeros((10, 10), np.uint8))
        return root, "img_1.png: mask size 10x10 differs"
    if case == "unreadable_image":
        image.write_bytes(b"not an image")
        return root, "img_1.bmp: unreadable image"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["size_mismatch", "unreadable_image"])
def test_bad_sources(tmp_path, capsys, inputs, case):
    sources, message = _broken_sources(tmp_path, case)
    out = tmp_path / "out"
    assert main(_cli(sources, inputs["backgrounds"], out)) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_empty_mask_in_coco_source(tmp_path, capsys, inputs):
    first = tmp_path / "first"
    composite_dataset(_config(), inputs["sources"], inputs["backgrounds"], first)
    coco = json.loads((first / "annotations.json").read_text())
    empty = coco["annotations"][1]
    h, w = empty["segmentation"]["size"]
    from simgen.formats.coco import encode_rle

    empty["segmentation"] = encode_rle(np.zeros((h, w), bool))
    (first / "annotations.json").write_text(json.dumps(coco))
    out = tmp_path / "out"
    assert main(_cli(first, inputs["backgrounds"], out)) == 2
    err = capsys.readouterr().err.strip()
    assert f"annotations[id={empty['id']}].segmentation: empty mask" in err
    assert not out.exists()


def test_no_instances_at_all(tmp_path, capsys, inputs):
    root = tmp_path / "src"
    (root / "dent").mkdir(parents=True)
    cv2.imwrite(str(root / "dent" / "a.bmp"), np.zeros((20, 20), np.uint8))
    cv2.imwrite(str(root / "dent" / "a.png"), np.zeros((20, 20), np.uint8))
    out = tmp_path / "out"
    assert main(_cli(root, inputs["backgrounds"], out)) == 2
    assert "annotations: no instance with a mask" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("case", ["missing", "empty", "unreadable"])
def test_bad_backgrounds(tmp_path, capsys, inputs, case):
    folder = tmp_path / "bg"
    if case != "missing":
        folder.mkdir()
    if case == "unreadable":
        (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    out = tmp_path / "out"
    assert main(_cli(inputs["sources"], folder, out)) == 2
    err = capsys.readouterr().err.strip()
    expected = {
        "missing": "bg: backgrounds folder not found",
        "empty": "bg: no background images",
        "unreadable": "broken.jpg: unreadable background image",
    }[case]
    assert expected in err and len(err.splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("blend.feathr=1", "--set: blend.feathr: unknown key"),
        ("count=[3, 1]", "count: min > max"),
        ("balance={nosuch: 1}", "balance.nosuch: class has no instance"),
        ("blend={feather: 0, poisson: 0, hard: 0}", "at least one of feather"),
    ],
)
def test_bad_config(tmp_path, capsys, inputs, override, message):
    out = tmp_path / "out"
    assert main(_cli(inputs["sources"], inputs["backgrounds"], out, "--set", override)) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_refuses_a_different_dataset(tmp_path, capsys, inputs):
    out = tmp_path / "out"
    assert main(_cli(inputs["sources"], inputs["backgrounds"], out)) == 0
    assert main(_cli(inputs["sources"], inputs["backgrounds"], out, "--seed", "4")) == 2
    assert "different config" in capsys.readouterr().err
    with pytest.raises(SimgenError, match="BOP"):
        composite_dataset(_config(), inputs["sources"], inputs["backgrounds"], out, formats=["bop"])


def test_report_describes_composite_provenance(tmp_path, inputs):
    out = tmp_path / "out"
    composite_dataset(_config(), inputs["sources"], inputs["backgrounds"], out)
    html = tmp_path / "report.html"
    assert main(["report", str(out), "--out", str(html)]) == 0
    text = html.read_text()
    assert "instances drawn / placed" in text and "blur sigma matched" in text
