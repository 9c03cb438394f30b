"""Request and response bodies of the HTTP service (pydantic v2).

A request carries a list of series, each ``{"id": str, "values": [...], "timestamps": [...] | null}``:
``values`` is ``[v0, v1, ...]`` (one channel) or ``[[...], [...]]`` (one list per channel, all of one
length); ``null`` (or a JSON ``NaN``) marks a missing value. Responses return one result per series,
in request order, with the same ids.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict

#: a value: a real number (strict: no strings, no booleans), or null = missing
Value = Annotated[float, Strict()] | None
#: one channel ``[...]`` or several ``[[...], ...]``
Values = list[Value] | list[list[Value]]
Timestamp = Annotated[str, Field(max_length=64)] | Annotated[float, Strict()]

MAX_ID_LENGTH = 256


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Series(_Body):
    """One series of a request."""

    id: Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]
    values: Values = Field(
        description="[v, ...] for one channel or [[v, ...], ...] one list per channel; null = missing"
    )
    timestamps: list[Timestamp] | None = Field(
        default=None,
        description="Optional, one per time point: ISO-8601 strings or numbers; echoed back (forecast: "
        "the future timestamps are inferred from their step)",
    )


class SeriesRequest(_Body):
    series: list[Series] = Field(min_length=1, description="At least one series; ids must be unique.")


class ImputeRequest(SeriesRequest):
    head: Literal["avg", "time", "fft"] = "avg"
    stride: Annotated[int, Field(ge=1)] | None = None


class DetectRequest(SeriesRequest):
    mode: Literal["time", "fft", "forecast", "ensemble"] = "ensemble"
    fuse: Literal["max", "mean"] = "max"


class EmbedRequest(SeriesRequest):
    kind: Literal["register", "detail"] = "register"
    shifts: Annotated[int, Field(ge=1, le=64)] | None = Field(
        default=None, description="Circular shifts averaged (default 16 for register, 1 for detail)."
    )
    channels: Literal["concat", "mean"] = "concat"


class ForecastRequest(SeriesRequest):
    horizon: Annotated[int, Field(ge=1)]
    quantiles: list[float] | None = Field(
        default=None, description="Levels among the model's (0.1 ... 0.9); default all of them."
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
    scores: list[float | None] = Field(description="One score in [0, 1] per time point.")
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
