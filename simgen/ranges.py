"""Validated range and value types for every config: each is defined once, bounds in its name.

A range is ``[min, max]`` with ``min <= max``, drawn uniformly by the sampler that reads it
(``min == max`` fixes the value). Every range type carries a :class:`Drawn` marker saying how a
value is drawn from it (uniform float, uniform integer, or an odd integer for kernel sizes), which
:func:`simgen.effects.sample_effects` reads; other samplers draw their ranges explicitly.

Scene configs (:mod:`simgen.config`), textures, effects, composites and the detector's training
augmentation all import their range types from here. Each is a static ``Annotated`` alias (not
built by a function), so type checkers see it as the ``tuple`` it validates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

MAX_OBJECTS = 250
"""Upper bound on labeled objects in one scene (instance ids are stored in one 8-bit channel)."""


@dataclass(frozen=True)
class Drawn:
    """Annotation marker: a ``[min, max]`` range and how a value is drawn from it.

    ``kind`` is ``float`` (uniform), ``int`` (uniform over integers, inclusive) or ``odd``
    (uniform over the odd integers in the range, for kernel sizes).
    """

    kind: Literal["float", "int", "odd"]


def ordered(value: tuple[Any, Any]) -> tuple[Any, Any]:
    """``value`` when ``value[0] <= value[1]``.

    Raises:
        ValueError: ``min > max``.
    """
    if value[0] > value[1]:
        raise ValueError(f"min > max ({value[0]} > {value[1]})")
    return value


def _has_odd(value: tuple[int, int]) -> tuple[int, int]:
    if value[0] == value[1] and value[0] % 2 == 0:
        raise ValueError(f"range must contain an odd number (got [{value[0]}, {value[1]}])")
    return value


_FLOAT = Drawn("float")
_INT = Drawn("int")
_Float = float
_Positive = Annotated[float, Field(gt=0)]
_NonNegative = Annotated[float, Field(ge=0)]
_ZeroOne = Annotated[float, Field(ge=0, le=1)]
_MinusOneOne = Annotated[float, Field(ge=-1, le=1)]
_OpenZeroOne = Annotated[float, Field(gt=0, le=1)]
_Degrees0To360 = Annotated[float, Field(ge=0, le=360)]
_PlusMinus45 = Annotated[float, Field(ge=-45, le=45)]
_DegreesPlusMinus90 = Annotated[float, Field(ge=-90, le=90)]
_OpenDegrees0To180 = Annotated[float, Field(gt=0, lt=180)]
_Degrees0To90 = Annotated[float, Field(ge=0, le=90)]
_Kelvin = Annotated[float, Field(ge=1000, le=40000)]
_ObjectCount = Annotated[int, Field(ge=0, le=MAX_OBJECTS)]
_Count0To16 = Annotated[int, Field(ge=0, le=16)]
_AtLeastOne = Annotated[int, Field(ge=1)]
_Vertices = Annotated[int, Field(ge=3, le=64)]
_AtLeastTwo = Annotated[int, Field(ge=2)]
_Quality = Annotated[int, Field(ge=1, le=100)]
_Kernel = Annotated[int, Field(ge=3, le=101)]
_OpenZeroTen = Annotated[float, Field(gt=0, le=10)]
_ZeroTen = Annotated[float, Field(ge=0, le=10)]
_ZeroTwenty = Annotated[float, Field(ge=0, le=20)]
_Zero255 = Annotated[float, Field(ge=0, le=255)]
_PlusMinus180 = Annotated[float, Field(ge=-180, le=180)]
_Count0To64 = Annotated[int, Field(ge=0, le=64)]


# Float ranges.
FloatRange = Annotated[tuple[_Float, _Float], AfterValidator(ordered), _FLOAT]
"""``[min, max]``, any floats."""
PositiveRange = Annotated[tuple[_Positive, _Positive], AfterValidator(ordered), _FLOAT]
"""``[min, max]`` within (0, inf)."""
NonNegativeRange = Annotated[tuple[_NonNegative, _NonNegative], AfterValidator(ordered), _FLOAT]
"""``[min, max]`` within [0, inf)."""
ZeroOneRange = Annotated[tuple[_ZeroOne, _ZeroOne], AfterValidator(ordered), _FLOAT]
"""``[min, max]`` within [0, 1]."""
MinusOneOneRange = Annotated[tuple[_MinusOneOne, _MinusOneOne], AfterValidator(ordered), _FLOAT]
"""``[min, max]`` within [-1, 1]."""
OpenZeroOneRange = Annotated[tuple[_OpenZeroOne, _OpenZeroOne], AfterValidator(ordered), _FLOAT]
"""``[min, max]`` within (0, 1]: a multiplicative factor that may only darken."""
Degrees0To360Range = Annotated[
    tuple[_Degrees0To360, _Degrees0To360], AfterValidator(ordered), _FLOAT
]
"""``[min, max]`` degrees within [0, 360]."""
PlusMinus45Range = Annotated[tuple[_PlusMinus45, _PlusMinus45], AfterValidator(ordered), _FLOAT]
"""``[min, max]`` within [-45, 45]."""
DegreesPlusMinus90Range = Annotated[
    tuple[_DegreesPlusMinus90, _DegreesPlusMinus90], AfterValidator(ordered), _FLOAT
]
"""``[min, max]`` degrees within [-90, 90]: an elevation."""
OpenDegrees0To180Range = Annotated[
    tuple[_OpenDegrees0To180, _OpenDegrees0To180], AfterValidator(ordered), _FLOAT
]
"""``[min, max]`` degrees within (0, 180): a field of view."""
Degrees0To90Range = Annotated[tuple[_Degrees0To90, _Degrees0To90], AfterValidator(ordered), _FLOAT]
"""``[min, max]`` degrees within [0, 90]."""
Kelvin1000To40000Range = Annotated[tuple[_Kelvin, _Kelvin], AfterValidator(ordered), _FLOAT]
"""``[min, max]`` colour temperatures in kelvin within [1000, 40000]."""
OpenZeroTenRange = Annotated[tuple[_OpenZeroTen, _OpenZeroTen], AfterValidator(ordered), _FLOAT]
"""``[min, max]`` within (0, 10]: a zoom factor."""
ZeroTenRange = Annotated[tuple[_ZeroTen, _ZeroTen], AfterValidator(ordered), _FLOAT]
"""``[min, max]`` within [0, 10]."""
ZeroTwentyRange = Annotated[tuple[_ZeroTwenty, _ZeroTwenty], AfterValidator(ordered), _FLOAT]
"""``[min, max]`` within [0, 20]."""
Zero255Range = Annotated[tuple[_Zero255, _Zero255], AfterValidator(ordered), _FLOAT]
"""``[min, max]`` within [0, 255]: grey levels."""
PlusMinus180Range = Annotated[tuple[_PlusMinus180, _PlusMinus180], AfterValidator(ordered), _FLOAT]
"""``[min, max]`` within [-180, 180]: a hue shift in degrees."""

# Integer ranges.
ObjectCountRange = Annotated[tuple[_ObjectCount, _ObjectCount], AfterValidator(ordered), _INT]
"""Integer ``[min, max]`` within [0, :data:`MAX_OBJECTS`]: objects in a scene."""
Count0To64Range = Annotated[tuple[_Count0To64, _Count0To64], AfterValidator(ordered), _INT]
"""Integer ``[min, max]`` within [0, 64]."""
Count0To16Range = Annotated[tuple[_Count0To16, _Count0To16], AfterValidator(ordered), _INT]
"""Integer ``[min, max]`` within [0, 16]: lights in a scene."""
AtLeastOneRange = Annotated[tuple[_AtLeastOne, _AtLeastOne], AfterValidator(ordered), _INT]
"""Integer ``[min, max]``, both at least 1."""
Vertices3To64Range = Annotated[tuple[_Vertices, _Vertices], AfterValidator(ordered), _INT]
"""Integer ``[min, max]`` within [3, 64]: polygon vertices."""
AtLeastTwoRange = Annotated[tuple[_AtLeastTwo, _AtLeastTwo], AfterValidator(ordered), _INT]
"""Integer ``[min, max]``, both at least 2."""
Quality1To100Range = Annotated[tuple[_Quality, _Quality], AfterValidator(ordered), _INT]
"""Integer ``[min, max]`` within [1, 100]: a JPEG quality."""
OddKernel3To101Range = Annotated[
    tuple[_Kernel, _Kernel],
    AfterValidator(ordered),
    AfterValidator(_has_odd),
    Drawn("odd"),
]
"""Integer ``[min, max]`` within [3, 101] that holds an odd number; an odd kernel size is drawn
from it."""

# Values.
Probability = Annotated[float, Field(ge=0, le=1)]
"""A probability in [0, 1]."""
_Unit = Annotated[float, Field(ge=0, le=1)]
_Byte = Annotated[int, Field(ge=0, le=255)]
RGB = tuple[_Unit, _Unit, _Unit]
"""A colour ``[r, g, b]`` in [0, 1], **sRGB** (as a colour picker or a photo gives it); the
renderer converts it to linear light (:mod:`simgen.render.colour`)."""
Color255 = tuple[_Byte, _Byte, _Byte]
"""``[r, g, b]`` in 0..255."""


def _roi(value: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = value
    if not (x0 < x1 and y0 < y1):
        raise ValueError(f"need x0 < x1 and y0 < y1 (got {list(value)})")
    return value


Roi = Annotated[tuple[_Unit, _Unit, _Unit, _Unit], AfterValidator(_roi)]
"""``[x0, y0, x1, y1]`` as fractions of the image width and height, ``x0 < x1``, ``y0 < y1``."""
