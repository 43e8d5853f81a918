"""The sim-to-real check: train a small detector on synthetic data, score it on real photos.

Needs the optional extra ``simgen[gap]`` (PyTorch). Modules: :mod:`data` (datasets, letterbox,
augmentation, targets), :mod:`model` (a CenterNet-style detector in plain PyTorch),
:mod:`train` (time-budgeted training), :mod:`evaluate` (COCO AP with BOP's ignore rule),
:mod:`report` (table, ``gap.json`` and pictures), :mod:`run` (the experiment rows).
"""

TORCH_REQUIREMENT = "torch==2.13.0"

HEAD_CHANNELS = 64
"""The lite0 head's default neck width (``--head-channels``; torch-free, for the CLI)."""

HEAD_BLOCKS = 1
"""The lite0 head's default number of depthwise-separable blocks (``--head-blocks``)."""


def import_torch():
    """Import torch or explain how to install it."""
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            "simgen gap needs PyTorch: pip install 'simgen[gap]' (or pip install "
            f"'{TORCH_REQUIREMENT}'; the CPU build is enough)"
        ) from exc
    return torch
