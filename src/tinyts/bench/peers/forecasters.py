"""Forecasting peers for the ``forecasting`` suite, behind one registry.

Every method is a factory ``(ForecastSetup) -> forecast`` where ``forecast(contexts, horizon)``
takes ``(n_series, context_length)`` float64 histories (standardised with train statistics) and
returns a :class:`ForecastOutput`: the point forecast and, when the method has them, quantiles at
:data:`tinyts.bench.metrics.QUANTILES`. Adding a method (a tinyts model later) is one entry in
:data:`FORECASTERS`.

- ``seasonal_naive``: the last season repeated (numpy; the same numbers as statsforecast's
  ``SeasonalNaive``, checked in the tests). Point forecast only.
- ``autoets`` / ``autoets_zza``: statsforecast ``AutoETS(season_length=P)`` with its default model
  search (``"ZZZ"``) and with additive seasonality forced (``"ZZA"``, the stronger variant in
  ``shared/research/peers.md``). Quantiles from its Gaussian prediction intervals (levels 20, 40,
  60, 80 % give the 0.1 ... 0.9 quantiles, the mean is the median).
- ``fracast``: Fracast-0 zero-shot with the weights bundled in its wheel
  (``FracastModel.from_pretrained()`` without an argument reads the package folder, never a hub),
  batches of 16, its own 0.1 ... 0.9 quantiles, the 0.5 quantile as point forecast; horizons past
  its native 48 steps use the package's own rollout.

:data:`STATSFORECAST_PEERS` (the ``forecasting_broad`` suite): statsforecast ``SeasonalNaive``,
``AutoETS``, ``AutoARIMA``, ``AutoTheta`` and ``AutoCES`` with their defaults and
``season_length=P``, each with all 9 quantiles from its prediction intervals (levels 20 ... 80 %, the
mean as the median). A series on which a model raises or returns non-finite values gets the numpy
seasonal naive forecast instead (its quantiles all equal to it); ``setup.info["fallbacks"]`` counts
them and names the first error.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinyts.bench.metrics import QUANTILES

__all__ = [
    "FORECASTERS",
    "STATSFORECAST_PEERS",
    "ForecastFn",
    "ForecastOutput",
    "ForecastSetup",
    "seasonal_naive_forecast",
    "statsforecast_factory",
]


@dataclass
class ForecastSetup:
    """What a method may use besides the contexts.

    Attributes
    ----------
    period : int
        Season length of the data (:func:`tinyts.bench.metrics.seasonal_period`).
    seed : int
        Seed for anything random.
    quick : bool
        ``--quick`` run.
    info : dict
        Filled in by the factory: what it loaded (written to the suite notes).
    """

    period: int
    seed: int = 0
    quick: bool = False
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class ForecastOutput:
    """``point``: ``(n_series, horizon)``; ``quantiles``: ``(n_series, horizon, 9)`` or None."""

    point: np.ndarray
    quantiles: np.ndarray | None = None


ForecastFn = Callable[[np.ndarray, int], ForecastOutput]


def _check_contexts(contexts: np.ndarray, horizon: int) -> np.ndarray:
    arr = np.asarray(contexts, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise ValueError(f"contexts must be (n_series, context_length), got shape {arr.shape}")
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(f"horizon must be a positive int, got {horizon!r}")
    return arr


def seasonal_naive_forecast(contexts: np.ndarray, horizon: int, period: int) -> np.ndarray:
    """Repeat the last ``period`` values of each context over ``horizon`` steps (lag 1 if too short)."""
    arr = _check_contexts(contexts, horizon)
    p = int(period) if 1 <= period <= arr.shape[1] else 1
    last = arr[:, -p:]
    reps = -(-horizon // p)
    return np.tile(last, (1, reps))[:, :horizon]


def _seasonal_naive_factory(setup: ForecastSetup) -> ForecastFn:
    period = int(setup.period)

    def forecast(contexts: np.ndarray, horizon: int) -> ForecastOutput:
        return ForecastOutput(seasonal_naive_forecast(contexts, horizon, period))

    return forecast


_ETS_LEVELS = (20, 40, 60, 80)
_LEVEL_COLS = [f"lo-{lv}" for lv in reversed(_ETS_LEVELS)] + ["mean"] + [f"hi-{lv}" for lv in _ETS_LEVELS]


def _interval_quantiles(out: dict[str, Any]) -> np.ndarray:
    """``(horizon, 9)`` quantiles 0.1 ... 0.9 from a statsforecast ``forecast(..., level=...)`` dict."""
    return np.stack([np.asarray(out[c], dtype=np.float64) for c in _LEVEL_COLS], axis=-1)


def statsforecast_factory(
    model_name: str, fallback: bool = False, **kwargs: Any
) -> Callable[[ForecastSetup], ForecastFn]:
    """A factory for one statsforecast model with quantiles from its prediction intervals.

    Parameters
    ----------
    model_name : str
        A class of ``statsforecast.models`` (``AutoETS``, ``AutoARIMA``, ``AutoTheta``, ``AutoCES``,
        ``SeasonalNaive``), built as ``cls(season_length=setup.period, **kwargs)`` per series.
    fallback : bool
        On an exception or non-finite output for a series, use the numpy seasonal naive forecast
        (all quantiles equal to it) and count it in ``setup.info["fallbacks"]``; else raise.
    **kwargs
        Further constructor arguments (e.g. ``model="ZZA"`` for AutoETS).

    Returns
    -------
    callable
        ``(ForecastSetup) -> forecast(contexts, horizon) -> ForecastOutput`` with 9 quantiles; the
        0.5 quantile (the model's mean) is the point forecast.
    """

    def factory(setup: ForecastSetup) -> ForecastFn:
        import statsforecast.models as sfm

        cls = getattr(sfm, model_name)
        period = int(setup.period)
        setup.info.update(kwargs)  # AutoETS: model="ZZZ" as before
        setup.info.update(peer=model_name, season_length=period, levels=list(_ETS_LEVELS))
        if fallback:
            setup.info.setdefault("fallbacks", 0)

        def forecast(contexts: np.ndarray, horizon: int) -> ForecastOutput:
            arr = _check_contexts(contexts, horizon)
            quant = np.empty((arr.shape[0], horizon, len(QUANTILES)))
            for i, y in enumerate(arr):
                try:
                    q = _interval_quantiles(
                        cls(season_length=period, **kwargs).forecast(y=y, h=horizon, level=list(_ETS_LEVELS))
                    )
                    if not np.all(np.isfinite(q)):
                        raise FloatingPointError("non-finite forecast or interval")
                except Exception as exc:
                    if not fallback:
                        raise
                    setup.info["fallbacks"] = int(setup.info.get("fallbacks", 0)) + 1
                    setup.info.setdefault("first_fallback", f"{type(exc).__name__}: {exc}"[:200])
                    point = seasonal_naive_forecast(y[None, :], horizon, period)[0]
                    q = np.repeat(point[:, None], len(QUANTILES), axis=1)
                quant[i] = q
            return ForecastOutput(quant[..., len(QUANTILES) // 2].copy(), quant)

        return forecast

    return factory


def _ets_factory(model: str) -> Callable[[ForecastSetup], ForecastFn]:
    return statsforecast_factory("AutoETS", model=model)


_FRACAST_BATCH = 16


def _fracast_factory(setup: ForecastSetup) -> ForecastFn:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import fracast
    from fracast import FracastModel

    model = FracastModel.from_pretrained()  # bundled weights: the package's own folder
    if not np.allclose(model.quantiles, QUANTILES):
        raise RuntimeError(f"fracast quantiles {model.quantiles} differ from {QUANTILES}")
    median = int(np.argmin(np.abs(np.asarray(model.quantiles) - 0.5)))
    setup.info.update(
        version=fracast.__version__,
        weights="bundled w8",
        native_horizon=model.horizon,
        internal_context=model.context_length,
        batch=_FRACAST_BATCH,
    )

    def forecast(contexts: np.ndarray, horizon: int) -> ForecastOutput:
        arr = _check_contexts(contexts, horizon).astype(np.float32)
        parts = [
            model.forecast_batch(arr[i : i + _FRACAST_BATCH], horizon=int(horizon))
            for i in range(0, arr.shape[0], _FRACAST_BATCH)
        ]
        quant = np.concatenate(parts, axis=0).astype(np.float64)
        return ForecastOutput(quant[..., median].copy(), quant)

    return forecast


#: method name -> factory. Order = column order in the report.
FORECASTERS: dict[str, Callable[[ForecastSetup], ForecastFn]] = {
    "seasonal_naive": _seasonal_naive_factory,
    "autoets": _ets_factory("ZZZ"),
    "autoets_zza": _ets_factory("ZZA"),
    "fracast": _fracast_factory,
}


#: The ``forecasting_broad`` suite's statsforecast peers (defaults, 9 quantiles, seasonal naive on
#: failure). Order = column order in the report.
STATSFORECAST_PEERS: dict[str, Callable[[ForecastSetup], ForecastFn]] = {
    "seasonal_naive": statsforecast_factory("SeasonalNaive", fallback=True),
    "autoets": statsforecast_factory("AutoETS", fallback=True),
    "autoarima": statsforecast_factory("AutoARIMA", fallback=True),
    "autotheta": statsforecast_factory("AutoTheta", fallback=True),
    "ces": statsforecast_factory("AutoCES", fallback=True),
}
