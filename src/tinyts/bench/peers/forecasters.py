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
    "ForecastFn",
    "ForecastOutput",
    "ForecastSetup",
    "seasonal_naive_forecast",
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


def _ets_factory(model: str) -> Callable[[ForecastSetup], ForecastFn]:
    def factory(setup: ForecastSetup) -> ForecastFn:
        from statsforecast.models import AutoETS

        period = int(setup.period)
        setup.info.update(model=model, season_length=period, levels=list(_ETS_LEVELS))

        def forecast(contexts: np.ndarray, horizon: int) -> ForecastOutput:
            arr = _check_contexts(contexts, horizon)
            quant = np.empty((arr.shape[0], horizon, len(QUANTILES)))
            for i, y in enumerate(arr):
                out = AutoETS(season_length=period, model=model).forecast(
                    y=y, h=horizon, level=list(_ETS_LEVELS)
                )
                cols = [f"lo-{lv}" for lv in reversed(_ETS_LEVELS)] + ["mean"]
                cols += [f"hi-{lv}" for lv in _ETS_LEVELS]
                quant[i] = np.stack([out[c] for c in cols], axis=-1)
            return ForecastOutput(quant[..., len(QUANTILES) // 2].copy(), quant)

        return forecast

    return factory


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
