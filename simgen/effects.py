"""Pixel-level post-render effects: weather, lighting, sensor noise, blur and compression.

Effects change only the pixels of the rendered RGB image, never its geometry, so the masks and
boxes computed from the instance map stay exact. This is the only module that imports
albumentations (lazily, inside functions); it is pinned to ``albumentations>=2.0.8,<2.1``.

Two halves, as in albumentations itself:

* :func:`sample_effects` draws every random value from the image's own Generator
  (:func:`simgen.rng.view_rng`) and returns plain JSON-ready dicts, one per applied effect,
  which go into the image's provenance record;
* :func:`apply_effects` is a pure function of ``(rgb, drawn)``: it builds each albumentations
  transform with its ranges collapsed to the drawn values, seeds it with the drawn seed, and
  applies the effects in order. Same input and same drawn dicts give the same bytes, in any
  process.

Configuration: ``EffectConfig`` is a discriminated union of one frozen pydantic model per
effect, selected by ``name``; a scene lists them as ``effects: list[EffectConfig]``. Every
parameter range is ``[min, max]`` and is sampled uniformly (integers inclusive).

Draw order (documented because it fixes which image gets which values): for each configured
effect, in list order, (1) ``u = rng.random()``, applied if ``u < p``; (2) one value for each
range field in the order the fields are declared on the model (``rng.uniform`` for floats,
``rng.integers`` for integers); (3) ``seed = int(rng.integers(2**31))`` for albumentations. All
three are drawn whether or not the effect is applied, so every effect consumes the same draws
and changing one effect's ``p`` never changes the values drawn for the effects after it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType, ModuleType
from typing import Annotated, Any, Literal, TypedDict

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

from simgen.ranges import (
    AtLeastOneRange,
    AtLeastTwoRange,
    Color255,
    Degrees0To360Range,
    Drawn,
    MinusOneOneRange,
    NonNegativeRange,
    OddKernel3To101Range,
    OpenZeroOneRange,
    PlusMinus45Range,
    PositiveRange,
    Quality1To100Range,
    Roi,
    Vertices3To64Range,
    ZeroOneRange,
)

ALBUMENTATIONS_REQUIREMENT = "albumentations>=2.0.8,<2.1"
"""The pip requirement for the optional dependency (2.0.8 is the last MIT-licensed release)."""


# --------------------------------------------------------------------------------------------
# Config models, one per effect.
# --------------------------------------------------------------------------------------------


class _Effect(BaseModel):
    """Fields shared by every effect. Range fields are marked with :class:`Drawn`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    p: float = Field(0.5, ge=0, le=1, description="Probability the effect is applied to an image.")


class RainEffect(_Effect):
    """Rain streaks (``albumentations.RandomRain``); the number of drops scales with height."""

    name: Literal["rain"] = "rain"
    slant: PlusMinus45Range = Field(
        (-10.0, 10.0), description="Horizontal drift of a drop, pixels."
    )
    drop_length: AtLeastOneRange = Field((10, 20), description="Drop length in pixels.")
    drop_width: AtLeastOneRange = Field((1, 2), description="Drop width in pixels.")
    blur: AtLeastOneRange = Field((3, 5), description="Box-blur size of the rain layer, pixels.")
    brightness: OpenZeroOneRange = Field(
        (0.7, 0.9), description="Image brightness factor (dimming)."
    )
    rain_type: Literal["drizzle", "heavy", "torrential", "default"] = Field(
        "default", description="Drop count: height/4, height, 2*height or height/3."
    )
    drop_color: Color255 = (200, 200, 200)


class FogEffect(_Effect):
    """Fog (``albumentations.RandomFog``): white haze plus a blur of the whole image.

    The slowest effect by far, and thinner fog is slower (more, smaller particles); timings
    in docs/benchmarks.md ("Figures behind defaults").
    """

    name: Literal["fog"] = "fog"
    fog_coef: ZeroOneRange = Field((0.3, 0.6), description="Fog intensity.")
    alpha_coef: ZeroOneRange = Field((0.05, 0.1), description="Opacity of one fog particle.")


class SnowEffect(_Effect):
    """Snow (``albumentations.RandomSnow``): brightens the darker parts of the image."""

    name: Literal["snow"] = "snow"
    snow_point: ZeroOneRange = Field((0.1, 0.3), description="Snow coverage threshold.")
    brightness: PositiveRange = Field((1.5, 2.5), description="Brightness gain of snowy pixels.")
    method: Literal["bleach", "texture"] = Field("bleach", description="texture is ~4x slower.")


class SunFlareEffect(_Effect):
    """Sun flare (``albumentations.RandomSunFlare``); the flare centre is drawn inside ``roi``."""

    name: Literal["sun_flare"] = "sun_flare"
    angle: ZeroOneRange = Field((0.0, 1.0), description="Direction of the flare line, in turns.")
    src_radius: AtLeastTwoRange = Field((100, 250), description="Sun radius in pixels.")
    num_circles: AtLeastOneRange = Field((4, 8), description="Number of flare circles.")
    roi: Roi = Field((0.0, 0.0, 1.0, 0.5), description="Region of the flare centre.")
    src_color: Color255 = (255, 255, 255)
    method: Literal["overlay", "physics_based"] = "overlay"


class ShadowEffect(_Effect):
    """Polygonal cast shadows (``albumentations.RandomShadow``) inside ``roi``."""

    name: Literal["shadow"] = "shadow"
    num_shadows: AtLeastOneRange = Field((1, 2), description="Number of shadow polygons.")
    vertices: Vertices3To64Range = Field((4, 6), description="Vertices per shadow polygon.")
    intensity: ZeroOneRange = Field((0.3, 0.6), description="Darkening of a shadow (1 = black).")
    roi: Roi = Field((0.0, 0.5, 1.0, 1.0), description="Region the polygons are drawn in.")


class BrightnessContrastEffect(_Effect):
    """Global brightness and contrast (``albumentations.RandomBrightnessContrast``)."""

    name: Literal["brightness_contrast"] = "brightness_contrast"
    brightness: MinusOneOneRange = Field((-0.2, 0.2), description="Offset, fraction of 255.")
    contrast: MinusOneOneRange = Field((-0.2, 0.2), description="Gain minus 1.")


class GaussNoiseEffect(_Effect):
    """Additive Gaussian noise (``albumentations.GaussNoise``)."""

    name: Literal["gauss_noise"] = "gauss_noise"
    std: ZeroOneRange = Field((0.02, 0.06), description="Standard deviation, fraction of 255.")
    mean: MinusOneOneRange = Field((0.0, 0.0), description="Mean, fraction of 255.")
    per_channel: bool = Field(True, description="Independent noise per channel.")


class IsoNoiseEffect(_Effect):
    """Camera sensor noise (``albumentations.ISONoise``): colour shift plus luminance noise."""

    name: Literal["iso_noise"] = "iso_noise"
    color_shift: ZeroOneRange = Field((0.01, 0.05), description="Hue shift amount.")
    intensity: NonNegativeRange = Field((0.1, 0.5), description="Luminance noise strength.")


class MotionBlurEffect(_Effect):
    """Linear motion blur (``albumentations.MotionBlur``) with a kernel centred on the pixel.

    The kernel is symmetric and never shifted (``allow_shifted=False``, ``direction=0``): a
    shifted or one-sided kernel would translate the image content and move it off its labels.
    """

    name: Literal["motion_blur"] = "motion_blur"
    kernel_size: OddKernel3To101Range = Field((3, 9), description="Odd kernel size in pixels.")
    angle: Degrees0To360Range = Field((0.0, 360.0), description="Blur direction in degrees.")


class JpegEffect(_Effect):
    """JPEG compression artefacts (``albumentations.ImageCompression``)."""

    name: Literal["jpeg"] = "jpeg"
    quality: Quality1To100Range = Field((40, 90), description="JPEG quality, 1..100.")


_CONFIGS: dict[str, type[_Effect]] = {
    cls.model_fields["name"].default: cls
    for cls in (
        RainEffect,
        FogEffect,
        SnowEffect,
        SunFlareEffect,
        ShadowEffect,
        BrightnessContrastEffect,
        GaussNoiseEffect,
        IsoNoiseEffect,
        MotionBlurEffect,
        JpegEffect,
    )
}

EFFECT_NAMES: tuple[str, ...] = tuple(_CONFIGS)
"""Every effect name, in the order they are documented."""

EFFECT_CONFIGS: Mapping[str, type[BaseModel]] = MappingProxyType(_CONFIGS)
"""Effect name -> its config model (read-only)."""


def _relocated(exc: ValidationError, tag: str) -> ValidationError:
    """``exc`` with pydantic's union tag removed from each location (``rain.p`` -> ``p``)."""
    line_errors: list[Any] = []
    for error in exc.errors():
        loc = error["loc"]
        item: dict[str, Any] = {
            "type": error["type"],
            "loc": loc[1:] if loc[:1] == (tag,) else loc,
            "input": error["input"],
        }
        if "ctx" in error:
            item["ctx"] = error["ctx"]
        line_errors.append(item)
    try:
        return ValidationError.from_exception_data(exc.title, line_errors)
    except (KeyError, TypeError, ValueError):  # an error type pydantic cannot rebuild
        return exc


def _validate_effect(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Locate union errors at the item's own fields: ``effects.2.name``, ``effects.2.p``.

    Stock pydantic reports an unknown tag at the list item (``effects.2``) and a field error
    under the tag (``effects.2.rain.p``).
    """
    if not isinstance(value, Mapping):
        return handler(value)
    name = value.get("name")
    if "name" not in value:
        line: Any = {"type": "missing", "loc": ("name",), "input": value}
        raise ValidationError.from_exception_data("EffectConfig", [line])
    if not isinstance(name, str) or name not in _CONFIGS:
        expected = ", ".join(EFFECT_NAMES)
        error = PydanticCustomError(
            "unknown_effect", "unknown effect; expected one of: {expected}", {"expected": expected}
        )
        line = {"type": error, "loc": ("name",), "input": name}
        raise ValidationError.from_exception_data("EffectConfig", [line])
    try:
        return handler(value)
    except ValidationError as exc:
        raise _relocated(exc, name) from None


EffectConfig = Annotated[
    RainEffect
    | FogEffect
    | SnowEffect
    | SunFlareEffect
    | ShadowEffect
    | BrightnessContrastEffect
    | GaussNoiseEffect
    | IsoNoiseEffect
    | MotionBlurEffect
    | JpegEffect,
    Field(discriminator="name"),
    WrapValidator(_validate_effect),
]
"""One configured effect, chosen by its ``name``; use as ``effects: list[EffectConfig] = []``."""


# --------------------------------------------------------------------------------------------
# Sampling: the only place effects draw random values.
# --------------------------------------------------------------------------------------------


class DrawnEffect(TypedDict):
    """One applied effect, JSON-ready: ``{"name": ..., "params": {...}, "seed": int}``."""

    name: str
    params: dict[str, Any]
    seed: int


def _draw_kind(field_metadata: list[Any]) -> str | None:
    for item in field_metadata:
        if isinstance(item, Drawn):
            return item.kind
    return None


def _draw_value(kind: str, bounds: tuple[Any, Any], rng: np.random.Generator) -> float | int:
    low, high = bounds
    if kind == "float":
        value = float(rng.uniform(low, high))
        return min(max(value, float(low)), float(high))  # guard against rounding past high
    if kind == "int":
        return int(rng.integers(low, high + 1))
    first_odd = low if low % 2 else low + 1
    count = (high - first_odd) // 2 + 1
    return first_odd + 2 * int(rng.integers(count))


def _json_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def sample_effects(effects: Sequence[EffectConfig], rng: np.random.Generator) -> list[DrawnEffect]:
    """Draw which effects apply to one image, and their parameters.

    Args:
        effects: the configured effects, in the order they are to be applied.
        rng: the image's own Generator (``simgen.rng.view_rng``); the draw order is in the
            module docstring.

    Returns:
        One JSON-ready dict per applied effect, in config order: ``name``, ``params`` (each
        range collapsed to a drawn float or int, every other setting copied, tuples as lists)
        and ``seed`` (an int in [0, 2**31) that seeds albumentations' own randomness).
    """
    drawn: list[DrawnEffect] = []
    for effect in effects:
        applied = bool(rng.random() < effect.p)
        params: dict[str, Any] = {}
        for field, info in type(effect).model_fields.items():
            if field in ("name", "p"):
                continue
            value = getattr(effect, field)
            kind = _draw_kind(info.metadata)
            params[field] = _json_value(value) if kind is None else _draw_value(kind, value, rng)
        seed = int(rng.integers(2**31))
        if applied:
            drawn.append({"name": effect.name, "params": params, "seed": seed})
    return drawn


# --------------------------------------------------------------------------------------------
# Applying: pure functions of (rgb, drawn).
# --------------------------------------------------------------------------------------------


def _albumentations() -> ModuleType:
    """Import albumentations 2.0.x without its network update check, or explain how to get it.

    albumentations imports its optional ``albumentations.pytorch`` (and so torch: about 1.7 s
    in every worker process) unless that import fails, which it tolerates. When torch is not
    loaded yet, that submodule is blocked for the duration of the import only (a later
    ``import albumentations.pytorch`` works as usual).
    """
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    block = "torch" not in sys.modules and "albumentations.pytorch" not in sys.modules
    if block:
        sys.modules["albumentations.pytorch"] = None  # type: ignore[assignment]
    try:
        import albumentations
    except ImportError as exc:
        raise ImportError(
            f"simgen effects need albumentations: pip install '{ALBUMENTATIONS_REQUIREMENT}'"
        ) from exc
    finally:
        if block and sys.modules.get("albumentations.pytorch", 0) is None:
            del sys.modules["albumentations.pytorch"]
    version = getattr(albumentations, "__version__", "?")
    if not version.startswith("2.0."):
        raise ImportError(
            f"simgen effects need albumentations 2.0.x, found {version}: "
            f"pip install '{ALBUMENTATIONS_REQUIREMENT}'"
        )
    return albumentations


def _pair(value: float | int) -> tuple[Any, Any]:
    return (value, value)


def _rain(params: Mapping[str, Any], shape: tuple[int, int]) -> dict[str, Any]:
    return {
        "slant_range": _pair(params["slant"]),
        # albumentations needs drops shorter than the image; clamp for tiny images.
        "drop_length": max(1, min(int(params["drop_length"]), shape[0] - 1)),
        "drop_width": params["drop_width"],
        "blur_value": params["blur"],
        "brightness_coefficient": params["brightness"],
        "rain_type": params["rain_type"],
        "drop_color": tuple(params["drop_color"]),
    }


def _fog(params: Mapping[str, Any], shape: tuple[int, int]) -> dict[str, Any]:
    return {"fog_coef_range": _pair(params["fog_coef"]), "alpha_coef": params["alpha_coef"]}


def _snow(params: Mapping[str, Any], shape: tuple[int, int]) -> dict[str, Any]:
    return {
        "snow_point_range": _pair(params["snow_point"]),
        "brightness_coeff": params["brightness"],
        "method": params["method"],
    }


def _sun_flare(params: Mapping[str, Any], shape: tuple[int, int]) -> dict[str, Any]:
    return {
        "angle_range": _pair(params["angle"]),
        "src_radius": params["src_radius"],
        "num_flare_circles_range": _pair(params["num_circles"]),
        "flare_roi": tuple(params["roi"]),
        "src_color": tuple(params["src_color"]),
        "method": params["method"],
    }


def _shadow(params: Mapping[str, Any], shape: tuple[int, int]) -> dict[str, Any]:
    return {
        "num_shadows_limit": _pair(params["num_shadows"]),
        "shadow_dimension": params["vertices"],
        "shadow_intensity_range": _pair(params["intensity"]),
        "shadow_roi": tuple(params["roi"]),
    }


def _brightness_contrast(params: Mapping[str, Any], shape: tuple[int, int]) -> dict[str, Any]:
    return {
        "brightness_limit": _pair(params["brightness"]),
        "contrast_limit": _pair(params["contrast"]),
        "brightness_by_max": True,
    }


def _gauss_noise(params: Mapping[str, Any], shape: tuple[int, int]) -> dict[str, Any]:
    return {
        "std_range": _pair(params["std"]),
        "mean_range": _pair(params["mean"]),
        "per_channel": params["per_channel"],
    }


def _iso_noise(params: Mapping[str, Any], shape: tuple[int, int]) -> dict[str, Any]:
    return {"color_shift": _pair(params["color_shift"]), "intensity": _pair(params["intensity"])}


def _motion_blur(params: Mapping[str, Any], shape: tuple[int, int]) -> dict[str, Any]:
    return {
        "blur_limit": _pair(params["kernel_size"]),
        "angle_range": _pair(params["angle"]),
        "direction_range": (0.0, 0.0),
        "allow_shifted": False,
    }


def _jpeg(params: Mapping[str, Any], shape: tuple[int, int]) -> dict[str, Any]:
    return {"quality_range": _pair(params["quality"]), "compression_type": "jpeg"}


_KwargsBuilder = Callable[[Mapping[str, Any], tuple[int, int]], dict[str, Any]]

_TRANSFORMS: dict[str, tuple[str, _KwargsBuilder]] = {
    "rain": ("RandomRain", _rain),
    "fog": ("RandomFog", _fog),
    "snow": ("RandomSnow", _snow),
    "sun_flare": ("RandomSunFlare", _sun_flare),
    "shadow": ("RandomShadow", _shadow),
    "brightness_contrast": ("RandomBrightnessContrast", _brightness_contrast),
    "gauss_noise": ("GaussNoise", _gauss_noise),
    "iso_noise": ("ISONoise", _iso_noise),
    "motion_blur": ("MotionBlur", _motion_blur),
    "jpeg": ("ImageCompression", _jpeg),
}


def build_transform(effect: Mapping[str, Any], shape: tuple[int, int]) -> Any:
    """Build the seeded albumentations transform for one drawn effect.

    Args:
        effect: a dict from :func:`sample_effects` (or the same dict after a JSON round trip).
        shape: ``(height, width)`` of the image it will be applied to.

    Returns:
        An ``albumentations.ImageOnlyTransform`` with ``p=1``, its ranges collapsed to the drawn
        values and its generators seeded with ``effect["seed"]``. Transforms are cheap to build
        (about 0.1 ms) and are not cached: a fresh, freshly seeded one per call is what makes
        repeated calls byte-identical.

    Raises:
        ValueError: unknown effect name.
        TypeError: the transform is not pixel-only (it could move masks or boxes).
    """
    albumentations = _albumentations()
    name = effect["name"]
    if name not in _TRANSFORMS:
        raise ValueError(f"unknown effect {name!r}; expected one of: {', '.join(EFFECT_NAMES)}")
    class_name, kwargs = _TRANSFORMS[name]
    transform = getattr(albumentations, class_name)(
        **kwargs(effect["params"], shape), p=1.0, strict=True
    )
    if not isinstance(transform, albumentations.ImageOnlyTransform):
        raise TypeError(f"effect {name!r} is not pixel-only ({class_name})")
    transform.set_random_seed(int(effect["seed"]))
    return transform


def apply_effects(rgb: np.ndarray, drawn: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Apply drawn effects to an image, in order.

    Only the colour image is touched: effects take no masks, boxes or instance map, and no
    effect moves image content, so labels computed from the instance map stay exact.

    Args:
        rgb: (H, W, 3) uint8 image. Never modified.
        drawn: dicts from :func:`sample_effects` (possibly reloaded from JSON).

    Returns:
        A new (H, W, 3) uint8, C-contiguous array (a copy when ``drawn`` is empty). A pure
        function: the same ``rgb`` and ``drawn`` give the same bytes in any process.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {rgb.shape} {rgb.dtype}")
    image = np.array(rgb, order="C", copy=True)
    shape = (int(rgb.shape[0]), int(rgb.shape[1]))
    for effect in drawn:
        image = build_transform(effect, shape)(image=image)["image"]
        if image.shape != rgb.shape or image.dtype != np.uint8:
            raise RuntimeError(f"effect {effect['name']!r} changed the image to {image.shape}")
    return np.ascontiguousarray(image)
