"""The names of every choice option, defined once as ``Literal`` aliases.

Task functions type their options with these aliases; runtime checks, the HTTP schemas
(:mod:`tinyts.serve.schemas`) and the command-line help read the allowed values from them with
:func:`choices`, so a new value is added in one place.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

__all__ = [
    "AnomalyFuse",
    "AnomalyHead",
    "AnomalyHeadScale",
    "AnomalyMode",
    "AnomalyScale",
    "BinaryChannels",
    "ClassifyMethod",
    "DistributedEngine",
    "EmbedChannels",
    "EmbedKind",
    "ForecastStrategy",
    "ImputeBlend",
    "ImputeHead",
    "LensPooling",
    "SearchMethod",
    "check_choice",
    "choices",
]

#: imputation: which reconstruction fills the gaps (time head, inverse-FFT head, or their mean)
ImputeHead = Literal["avg", "time", "fft"]
#: imputation: ``"auto"`` mixes in linear interpolation where the model's self-check loses to it
ImputeBlend = Literal["none", "auto"]
#: anomaly scoring: the three reconstruction / forecast heads
AnomalyHead = Literal["time", "fft", "forecast"]
#: anomaly scoring: one head, or the ensemble of the three
AnomalyMode = Literal["time", "fft", "forecast", "ensemble"]
#: anomaly scoring: how the ensemble combines the heads
AnomalyFuse = Literal["max", "mean"]
#: anomaly scoring: how each head's window score is scaled before the ensemble fuses them
AnomalyHeadScale = Literal["minmax", "robust"]
#: anomaly scoring: robust standard deviations (thresholdable) or min-max in [0, 1]
AnomalyScale = Literal["robust", "minmax"]
#: anomaly scoring of multichannel series: leave two-valued channels out, or score every channel
BinaryChannels = Literal["skip", "score"]
#: embeddings: register tokens (semantic), time + FFT tokens (detail), pooled multi-depth tokens
EmbedKind = Literal["register", "detail", "pooled"]
#: embeddings of multichannel series: concatenate or average the channels' embeddings
EmbedChannels = Literal["concat", "mean"]
#: forecasting: how the horizon is reached (see docs/tinycast.md)
ForecastStrategy = Literal["auto", "hybrid", "rollout", "coarse", "anchored"]
#: classification: frozen features + MiniRocket, frozen features alone, or TSLens fine-tuning
ClassifyMethod = Literal["hybrid", "frozen", "tslens"]
#: TSLens head: how tokens are reduced before the classifier
LensPooling = Literal["lens", "flat", "avg", "max"]
#: similarity search engine (``auto`` picks by index size)
SearchMethod = Literal["auto", "exact", "hnsw", "ivf"]
#: distributed DataFrame engines
DistributedEngine = Literal["dask", "ray"]


def choices(alias: Any) -> tuple[str, ...]:
    """The allowed values of a ``Literal`` alias, in their declared order."""
    values = get_args(alias)
    if not values:
        raise TypeError(f"{alias!r} is not a Literal alias")
    return tuple(values)


def check_choice(value: object, alias: Any, name: str) -> None:
    """Raise ``ValueError`` naming the allowed values when ``value`` is not one of ``alias``'s.

    Parameters
    ----------
    value : object
        What the caller passed.
    alias : Literal alias
        One of the aliases of this module.
    name : str
        The option's name in the message (``"mode"``, ``"strategy"``).
    """
    allowed = choices(alias)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
