"""The ``lite0`` detector: a pretrained EfficientNet-Lite0, a small FPN neck and CenterNet heads.

The backbone (:mod:`simgen.gap.backbone`) gives features at strides 8, 16 and 32. The neck maps
each to :data:`NECK` channels (``neck``) with a 1x1 conv, adds them top-down (nearest upsampling)
to stride 8, and one shared depthwise-separable conv (``blocks``; 3x3 depthwise, 1x1 pointwise,
each with BatchNorm and ReLU; a full 3x3 conv at stride 8 cost most of a head step on a CPU)
feeds the three 1x1 heads of
:class:`simgen.gap.model.CenterNet`: per-class centre heat maps, log box size and sub-cell offset,
all at stride :data:`STRIDE`. Loss and decoding are the CenterNet ones of :mod:`simgen.gap.model`.

With a frozen backbone (the default) only :class:`FPNHead` trains, on cached features
(:mod:`simgen.gap.features`); ``finetune_stages`` > 0 unfreezes the backbone's last stages and
trains on images.
"""

from __future__ import annotations

import math

from simgen.gap import HEAD_BLOCKS, HEAD_CHANNELS, import_torch
from simgen.gap.backbone import FEATURE_CHANNELS, backbone_train_mode, load_lite0, set_trainable

torch = import_torch()
nn = torch.nn
F = torch.nn.functional

STRIDE = 8
"""Output stride of the lite0 detector's heat maps."""

NECK = HEAD_CHANNELS
"""Channels of the FPN neck and the shared head conv."""


def _separable(channels: int) -> list:
    """The layers of one block: 3x3 depthwise then 1x1 pointwise conv, each with BN and ReLU."""
    return [
        nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False),
        nn.BatchNorm2d(channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(channels, channels, 1, bias=False),
        nn.BatchNorm2d(channels),
        nn.ReLU(inplace=True),
    ]


class FPNHead(nn.Module):
    """FPN neck (strides 8/16/32 -> 8) plus CenterNet heads.

    Args:
        num_classes: heat-map channels.
        channels: channels of the three input feature maps (finest first).
        neck: channels of the neck and of the shared convs.
        blocks: depthwise-separable blocks in the shared part, one after the other.

    ``forward`` takes ``[c8 (B, 40, H/8, W/8), c16 (B, 112, H/16, W/16), c32 (B, 320, H/32,
    W/32)]`` (any float dtype; cast to float32) and returns ``heat`` (B, C, H/8, W/8) logits,
    ``size`` (B, 2, H/8, W/8) log width/height in output cells and ``offset`` (B, 2, H/8, W/8).
    """

    def __init__(
        self,
        num_classes: int,
        channels: tuple[int, ...] = FEATURE_CHANNELS,
        neck: int = NECK,
        blocks: int = HEAD_BLOCKS,
    ) -> None:
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, neck, 1) for c in channels)
        # One flat Sequential (six layers per block), so one block keeps the layout it had.
        self.shared = nn.Sequential(*(layer for _ in range(blocks) for layer in _separable(neck)))
        self.heat = nn.Conv2d(neck, num_classes, 1)
        self.size = nn.Conv2d(neck, 2, 1)
        self.offset = nn.Conv2d(neck, 2, 1)
        nn.init.constant_(self.heat.bias, -math.log((1 - 0.01) / 0.01))  # prior p = 0.01

    def forward(self, features):
        features = [f.float() for f in features]
        top = self.lateral[-1](features[-1])
        for level in range(len(features) - 2, -1, -1):
            top = F.interpolate(top, size=features[level].shape[-2:], mode="nearest")
            top = top + self.lateral[level](features[level])
        shared = self.shared(top)
        return {"heat": self.heat(shared), "size": self.size(shared), "offset": self.offset(shared)}


class Lite0Detector(nn.Module):
    """Backbone plus :class:`FPNHead`; ``forward`` takes (B, 3, S, S) float RGB in [0, 1].

    Args:
        num_classes: heat-map channels.
        finetune_stages: how many of the backbone's last stages train (0: frozen).
        backbone: an already loaded :class:`~simgen.gap.backbone.EfficientNetLite0` (its
            weights are copied); default: :func:`~simgen.gap.backbone.load_lite0`.
        neck: channels of the head's neck (:class:`FPNHead`).
        blocks: depthwise-separable blocks of the head's shared part.
    """

    stride = STRIDE

    def __init__(
        self,
        num_classes: int,
        finetune_stages: int = 0,
        backbone=None,
        *,
        neck: int = NECK,
        blocks: int = HEAD_BLOCKS,
    ) -> None:
        super().__init__()
        import copy

        self.backbone = copy.deepcopy(backbone) if backbone is not None else load_lite0()
        self.finetune_stages = finetune_stages
        set_trainable(self.backbone, finetune_stages)
        self.head = FPNHead(num_classes, neck=neck, blocks=blocks)

    def train(self, mode: bool = True):
        """Train the head; the backbone's frozen stages stay in eval mode (fixed statistics)."""
        super().train(mode)
        if mode:
            backbone_train_mode(self.backbone, self.finetune_stages)
        return self

    def forward(self, images):
        return self.head(self.backbone.features(images * 255.0))
