"""The composite config: how many instances to paste, how to transform, match and blend them.

Every section has defaults, so ``simgen composite`` runs without a config file; a YAML file
(``--config``) and ``--set key=value`` overrides change single fields. Unknown keys are
rejected, as in scene files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from simgen.dataset.versions import (
    SCHEMA_VERSION,
    check_current_version,
    upgrade_composite_config,
)
from simgen.effects import EffectConfig
from simgen.errors import SimgenError
from simgen.ranges import FloatRange, PositiveRange
from simgen.schema import _Model

Balance = Literal["uniform", "source"] | dict[str, Annotated[float, Field(ge=0)]]
"""``uniform``: every class equally often; ``source``: as often as the source holds its
instances; ``{class: weight}``: explicit relative weights (classes left out are not pasted)."""


class TransformConfig(_Model):
    """Geometric randomization of a pasted instance (applied to its patch and mask together)."""

    rotation_deg: FloatRange = Field(
        (-180.0, 180.0), description="In-plane rotation about the instance's centre, degrees."
    )
    scale: PositiveRange = Field((0.8, 1.25), description="Scale factor range.")
    scale_mode: Literal["relative", "absolute"] = Field(
        "relative",
        description="relative: the factor multiplies the ratio of background to source image "
        "size (an instance keeps its size relative to the part); absolute: source pixels.",
    )
    flip_horizontal_p: Annotated[float, Field(ge=0, le=1)] = 0.5
    flip_vertical_p: Annotated[float, Field(ge=0, le=1)] = 0.5
    context_px: Annotated[int, Field(ge=0, le=64)] = Field(
        6, description="Source pixels kept around the mask (feathering and cloning blend them)."
    )


class PlacementConfig(_Model):
    """Where instances go."""

    position: Literal["uniform", "source"] = Field(
        "uniform",
        description="uniform: any spot of the region; source: near where the instance sat in "
        "its own image (same fraction of the width and height, mirrored with the flips), "
        "jittered by position_jitter (edge defects stay at edges).",
    )
    position_jitter: Annotated[float, Field(ge=0, le=1)] = Field(
        0.1, description="source: standard deviation of the position, as a fraction of the size."
    )
    region: Literal["anywhere", "foreground"] = Field(
        "foreground",
        description="foreground: inside the background's bright part (the part's surface; "
        "dark surroundings excluded); anywhere: the whole image.",
    )
    foreground_threshold: Annotated[float, Field(gt=0, lt=1)] = Field(
        0.4, description="Foreground = smoothed intensity above this fraction of the median."
    )
    overlap: Literal["avoid", "allow"] = "avoid"
    gap_px: Annotated[int, Field(ge=0, le=64)] = Field(
        2, description="Minimum distance between pasted masks when overlap is avoided."
    )
    max_tries: Annotated[int, Field(ge=1, le=1000)] = Field(
        50, description="Position draws per instance before it is left out of the image."
    )


class AppearanceConfig(_Model):
    """Photometric matching of a patch to where it lands, plus random jitter."""

    match_brightness: bool = Field(
        True,
        description="Give the patch's surroundings the mean and spread of the background "
        "under it (the defect keeps its contrast to its own surface).",
    )
    match_blur: bool = Field(
        True, description="Blur the patch until its sharpness matches the background's."
    )
    match_noise: bool = Field(
        False,
        description="Add Gaussian noise to a patch that is smoother than the background under "
        "it, up to the background's noise level (high-pass spread). Not in difference mode, "
        "where the target keeps its own noise.",
    )
    brightness: FloatRange = Field((-0.05, 0.05), description="Added offset, in [0, 1] units.")
    contrast: PositiveRange = Field((0.9, 1.1), description="Gain about the patch mean.")


class BlendConfig(_Model):
    """How a patch is blended in; one mode is drawn per instance by these weights."""

    feather: Annotated[float, Field(ge=0)] = 0.5
    poisson: Annotated[float, Field(ge=0)] = 0.4
    hard: Annotated[float, Field(ge=0)] = 0.1
    difference: Annotated[float, Field(ge=0)] = Field(
        0.0,
        description="Weight of transferring the defect as a difference: the target keeps its "
        "own surface and only the defect's deviation from its source surface (inpainted "
        "under the mask from the context around it) is added on the mask and a rim around it.",
    )
    difference_rim_px: Annotated[int, Field(ge=0, le=16)] = Field(
        3,
        description="difference: the defect's halo transferred with it, pixels around the mask "
        "(its surface is estimated beyond them; the transfer fades out across the rim). "
        "0: exactly the mask's pixels change.",
    )
    feather_px: PositiveRange = Field(
        (1.0, 3.0), description="Width of the alpha ramp across the mask edge, pixels."
    )
    poisson_margin_px: Annotated[int, Field(ge=0, le=32)] = Field(
        3, description="Source context cloned around the mask in Poisson mode."
    )

    @model_validator(mode="after")
    def _some_weight(self) -> BlendConfig:
        if self.feather + self.poisson + self.hard + self.difference <= 0:
            raise ValueError(
                "at least one of feather, poisson, hard, difference needs a positive weight"
            )
        return self


class CompositeConfig(_Model):
    """Everything that decides a composite dataset's content (with the two inputs)."""

    schema_version: int = Field(
        SCHEMA_VERSION,
        description="Version of the config format (simgen.dataset.versions); older versions "
        "are converted when read, so it is always the current one here.",
    )
    name: str = "composite"
    seed: int = 0
    num_images: Annotated[int, Field(ge=1)] = 100
    count: Annotated[
        tuple[Annotated[int, Field(ge=1, le=250)], Annotated[int, Field(ge=1, le=250)]],
        Field(description="Instances pasted per image, [min, max]."),
    ] = (1, 3)
    balance: Balance = "uniform"
    background_labels: bool = Field(
        False,
        description="Backgrounds may be labeled images, laid out like a mask-folder source "
        "(CLASS/NAME.jpg with NAME.png): their instances (connected components of the mask, "
        "class from the folder, renamed by --map) stay labeled in the composite, pastes avoid "
        "and cover them. Copy-paste onto the real training images themselves.",
    )
    one_class_per_image: bool = Field(
        False, description="Draw the class once per image (defect photos show one kind each)."
    )
    min_area: Annotated[int, Field(ge=1)] = Field(
        4, description="Source instances smaller than this (pixels) are not used."
    )
    min_visible: Annotated[float, Field(ge=0, le=1)] = Field(
        0.1,
        description="An instance covered below this visible fraction by later pastes is "
        "flagged ignore (BOP's rule; only happens with overlap: allow).",
    )
    transform: TransformConfig = TransformConfig()
    placement: PlacementConfig = PlacementConfig()
    appearance: AppearanceConfig = AppearanceConfig()
    blend: BlendConfig = BlendConfig()
    effects: list[EffectConfig] = Field(
        default_factory=list,
        description="Pixel-level effects (simgen.effects) applied to the finished image.",
    )
    inputs: dict[str, str] = Field(
        default_factory=dict,
        description="Filled in by simgen: the instance source and background folder used.",
    )

    @field_validator("schema_version")
    @classmethod
    def _current_version(cls, value: int) -> int:
        return check_current_version(value)

    @model_validator(mode="after")
    def _count_order(self) -> CompositeConfig:
        if self.count[0] > self.count[1]:
            raise ValueError(f"count: min > max ({self.count[0]} > {self.count[1]})")
        return self


def validate_composite_config(data: Any, *, source: str | Path) -> CompositeConfig:
    """Validate a raw mapping, raising a one-line ``FILE: FIELD: message`` error.

    ``data`` of an older ``schema_version`` (none: 0) is converted first
    (:func:`~simgen.dataset.versions.upgrade_composite_config`); a newer one is an error.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SimgenError("expected a mapping at the top level", file=source)
    from simgen.config import _validation_message

    data = upgrade_composite_config(data, source=source)
    try:
        return CompositeConfig.model_validate(data)
    except ValidationError as exc:
        field, msg = _validation_message(exc)
        raise SimgenError(msg, file=source, field=field or None) from None


def load_composite_config(
    path: str | Path | None = None, overrides: list[str] | None = None
) -> CompositeConfig:
    """Read ``path`` (or the defaults), apply ``key=value`` overrides, validate.

    Raises:
        SimgenError: unreadable YAML or an invalid field, naming the file (or ``--set``).
    """
    from simgen.config import apply_overrides, blame_override, read_yaml

    data: dict[str, Any] = {}
    source: str | Path = "<defaults>"
    if path is not None:
        source = Path(path)
        data = read_yaml(source)
    items = overrides or []
    data = apply_overrides(data, items)
    try:
        return validate_composite_config(data, source=source)
    except SimgenError as exc:
        raise blame_override(exc, items) from None


def composite_config_to_yaml(config: CompositeConfig) -> str:
    """Stable YAML of a config (what ``DIR/config.yaml`` holds)."""
    return yaml.safe_dump(
        config.model_dump(mode="json"), sort_keys=False, default_flow_style=None, width=100
    )
