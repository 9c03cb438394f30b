"""Request and response bodies of the HTTP service (pydantic v2).

A request carries a list of series, each ``{"id": str, "values": [...], "timestamps": [...] | null}``:
``values`` is ``[v0, v1, ...]`` (one channel) or ``[[...], [...]]`` (one list per channel, all of one
length); ``null`` (or a JSON ``NaN``) marks a missing value. Responses return one result per series,
in request order, with the same ids.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, Strict, StrictBool

from tinyts.options import AnomalyFuse, AnomalyMode, EmbedChannels, EmbedKind, ImputeHead

#: a value: a real number (strict: no strings, no booleans), or null = missing
Value = Annotated[float, Strict()] | None
#: one channel ``[...]`` or several ``[[...], ...]`` (the documented form; see :func:`check_values`)
ValuesSchema = list[Value] | list[list[Value]]
Timestamp = Annotated[str, Field(max_length=64)] | Annotated[float, Strict()]
TimestampsSchema = list[Timestamp]
#: integer options: strict (``"3"``, ``true`` and ``3.0`` are refused, not read as 3 / 1)
StrictInt = Annotated[int, Strict()]

MAX_ID_LENGTH = 256
MAX_TIMESTAMP_LENGTH = 64

_NUMBER_OR_NULL: frozenset[type] = frozenset({float, int, type(None)})


def _kind(value: Any) -> str:
    """How a JSON value is named in messages ("a string", "true", ...)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    names = {str: "a string", list: "a list", dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _first_bad(items: list[Any], allowed: frozenset[type]) -> int:
    return next(i for i, v in enumerate(items) if type(v) not in allowed)


def _check_numbers(row: list[Any], where: str) -> None:
    # set(map(type, ...)) runs at C speed: a million values are checked in tens of milliseconds
    types = set(map(type, row))
    if not types <= _NUMBER_OR_NULL:
        i = _first_bad(row, _NUMBER_OR_NULL)
        raise ValueError(
            f"{where}[{i}] is {_kind(row[i])}; values must be JSON numbers, or null for a missing value"
        )
    if int in types:
        huge = next((k for k, v in enumerate(row) if type(v) is int and not _fits_float(v)), None)
        if huge is not None:
            raise ValueError(f"{where}[{huge}] is an integer too large for a float64")


def _fits_float(v: int) -> bool:
    try:
        return math.isfinite(float(v))
    except OverflowError:
        return False


def check_values(values: Any) -> list[Any]:
    """Validate ``values`` (one channel or one list per channel) and stop at the first bad item.

    pydantic's list validation reports every bad item (and, through the union of the two forms, twice):
    a body of a million strings would build two million error objects. This check refuses the list at
    its first bad item with one message, and accepts valid lists without copying them.

    Raises
    ------
    ValueError
        A value that is not a number or null (strings and booleans included), a list of lists mixed
        with values, more than two levels of lists, or an integer beyond float64.
    """
    if not isinstance(values, list):
        raise ValueError(f"values is {_kind(values)}; give [v, ...] for one channel or [[v, ...], ...]")
    if values and type(values[0]) is list:
        for j, row in enumerate(values):
            if type(row) is not list:
                raise ValueError(
                    f"values[{j}] is {_kind(row)}, but values[0] is a list: give one list per channel "
                    "([[v, ...], ...]) or a flat list of values for one channel"
                )
            if row and type(row[0]) is list:
                raise ValueError(
                    f"values[{j}] is a list of lists; values may be [v, ...] or [[v, ...], ...], not deeper"
                )
            _check_numbers(row, f"values[{j}]")
    else:
        _check_numbers(values, "values")
    return values


def check_timestamps(stamps: Any) -> list[Any] | None:
    """Validate ``timestamps`` (strings of at most 64 characters or numbers), stopping at the first bad one.

    Raises
    ------
    ValueError
        Anything but a list of strings and numbers (booleans and null included), or a string too long.
    """
    if stamps is None:
        return None
    if not isinstance(stamps, list):
        raise ValueError(f"timestamps is {_kind(stamps)}; give a list with one timestamp per time point")
    allowed: frozenset[type] = frozenset({str, float, int})
    if not set(map(type, stamps)) <= allowed:
        i = _first_bad(stamps, allowed)
        raise ValueError(
            f"timestamps[{i}] is {_kind(stamps[i])}; timestamps must be ISO-8601 strings or numbers"
        )
    for i, t in enumerate(stamps):
        if type(t) is str and len(t) > MAX_TIMESTAMP_LENGTH:
            raise ValueError(f"timestamps[{i}] is longer than {MAX_TIMESTAMP_LENGTH} characters")
        if type(t) is int and not _fits_float(t):
            raise ValueError(f"timestamps[{i}] is an integer too large for a float64")
    return [float(t) if type(t) is int else t for t in stamps]


Values = Annotated[ValuesSchema, PlainValidator(check_values, json_schema_input_type=ValuesSchema)]
Timestamps = Annotated[
    TimestampsSchema | None, PlainValidator(check_timestamps, json_schema_input_type=TimestampsSchema | None)
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Series(_Body):
    """One series of a request."""

    id: Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]
    values: Values = Field(
        description="[v, ...] for one channel or [[v, ...], ...] one list per channel; null = missing"
    )
    timestamps: Timestamps = Field(
        default=None,
        description="Optional, one per time point: ISO-8601 strings or numbers; echoed back (forecast: "
        "the future timestamps are inferred from their step)",
    )


class SeriesRequest(_Body):
    series: list[Series] = Field(min_length=1, description="At least one series; ids must be unique.")


class ImputeRequest(SeriesRequest):
    head: ImputeHead = "avg"
    stride: Annotated[StrictInt, Field(ge=1)] | None = None
    tta: StrictBool = Field(
        default=True, description="Average the fills of the window, negated and time-reversed (4 passes)"
    )


class DetectRequest(SeriesRequest):
    mode: AnomalyMode = "ensemble"
    fuse: AnomalyFuse = "max"


class EmbedRequest(SeriesRequest):
    kind: EmbedKind = "register"
    shifts: Annotated[StrictInt, Field(ge=1, le=64)] | None = Field(
        default=None,
        description="Circular shifts averaged (default 16 for register, 1 for detail, 2 for pooled).",
    )
    channels: EmbedChannels = "concat"


class ForecastRequest(SeriesRequest):
    horizon: Annotated[StrictInt, Field(ge=1)]
    quantiles: list[Annotated[float, Strict()]] | None = Field(
        default=None,
        description="Distinct levels among the model's (0.1 ... 0.9); default all of them.",
    )


class ClassifyRequest(SeriesRequest):
    pass


# ---------------------------------------------------------------------------------------- responses

#: a result array: ``(time,)`` for one-channel input given as a flat list, else ``(channels, time)``
Out = list[float | None] | list[list[float | None]]


class ImputedSeries(BaseModel):
    id: str
    values: Out
    timestamps: list[str | float] | None = None


class ImputeResponse(BaseModel):
    model: str
    series: list[ImputedSeries]


class DetectedSeries(BaseModel):
    id: str
    scores: list[float | None] = Field(
        description="One score per time point: robust standard deviations above the series' typical score "
        "(0 = typical; tinyts flags points above 8, its default threshold)."
    )
    timestamps: list[str | float] | None = None


class DetectResponse(BaseModel):
    model: str
    mode: str
    series: list[DetectedSeries]


class EmbeddedSeries(BaseModel):
    id: str
    embedding: list[float]


class EmbedResponse(BaseModel):
    model: str
    kind: str
    series: list[EmbeddedSeries]


class ForecastSeries(BaseModel):
    id: str
    mean: Out
    quantiles: dict[str, Out] = Field(description="Level (e.g. '0.1') -> forecast shaped like mean.")
    timestamps: list[str | float] | None = None


class ForecastResponse(BaseModel):
    model: str
    horizon: int
    levels: list[float]
    series: list[ForecastSeries]


class ClassifiedSeries(BaseModel):
    id: str
    label: str | int | float
    probabilities: dict[str, float]


class ClassifyResponse(BaseModel):
    model: str
    classes: list[str | int | float]
    series: list[ClassifiedSeries]


class ModelInfo(BaseModel):
    role: str = Field(description="pulse, cast or classifier")
    name: str
    type: str
    parameters: int


class Health(BaseModel):
    status: str
    version: str
    models: list[ModelInfo]
    limits: dict[str, int]


class ErrorBody(BaseModel):
    detail: str
