"""``TinyCastForecaster``: zero-shot TinyCast forecasts with aeon's ``BaseForecaster`` interface."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from aeon.forecasting.base import BaseForecaster, SeriesToSeriesForecastingMixin

from tinyts.estimators._models import tiny_checkpoint
from tinyts.models.base import resolve
from tinyts.models.cast import TinyCast

__all__ = ["TinyCastForecaster"]

POINTS = ("mean", "median")


class TinyCastForecaster(BaseForecaster, SeriesToSeriesForecastingMixin):
    """Zero-shot TinyCast forecasts with aeon's ``BaseForecaster`` interface.

    aeon's forecasters predict one value ``horizon`` steps after the end of the series they are
    given: ``predict(y)`` (and ``forecast(y)``) return that value as a float. TinyCast forecasts the
    whole path in one call, so ``series_to_series_forecast(y, prediction_horizon)`` returns all
    ``prediction_horizon`` steps at the cost of one forecast, and :meth:`predict_quantiles` its
    quantiles. ``fit`` learns nothing (zero-shot, aeon's ``fit_is_empty``); every prediction uses
    the series passed to it. Univariate series only (aeon's forecasters return one float); NaN is
    missing. For multichannel forecasts use :func:`tinyts.tasks.forecast.api.forecast` directly.

    Parameters
    ----------
    model : str, os.PathLike or TinyCast, default="tinycast"
        A bundled name, a checkpoint folder or a loaded model (only read). Names and folders are
        loaded once per process.
    horizon : int, default=1
        ``predict`` returns the forecast this many steps after the end of ``y``.
    point : {"mean", "median"}, default="mean"
        The point forecast: the mean of the model's quantiles or its 0.5 quantile.
    strategy : {"auto", "hybrid", "rollout", "coarse", "anchored"}, default="auto"
        How steps beyond the first patch are forecast (see :mod:`tinyts.tasks.forecast.api`).
    near_steps : int, default=96
        Rolled-out steps before the coarse grid takes over.
    sifi : bool, default=True
        Stride-interleaved inference for histories longer than the context.
    symmetry : bool, default=True
        Sign-flip symmetry ensembling.

    Examples
    --------
    >>> from aeon.datasets import load_airline
    >>> from tinyts.estimators import TinyCastForecaster
    >>> y = load_airline()
    >>> TinyCastForecaster(horizon=12).forecast(y)  # doctest: +SKIP
    >>> TinyCastForecaster().series_to_series_forecast(y, 24)  # doctest: +SKIP
    """

    _tags: ClassVar[dict[str, Any]] = {
        "capability:univariate": True,
        "capability:multivariate": False,
        "capability:missing_values": True,
        "capability:horizon": True,
        "capability:exogenous": False,
        "fit_is_empty": True,
        "algorithm_type": "deeplearning",
    }

    def __init__(
        self,
        model: Any = "tinycast",
        horizon: int = 1,
        point: str = "mean",
        strategy: str = "auto",
        near_steps: int = 96,
        sifi: bool = True,
        symmetry: bool = True,
    ) -> None:
        self.model = model
        self.point = point
        self.strategy = strategy
        self.near_steps = near_steps
        self.sifi = sifi
        self.symmetry = symmetry
        super().__init__(horizon=horizon, axis=1)

    # ------------------------------------------------------------------------------------- aeon API
    def _predict(self, y: np.ndarray, exog: Any = None) -> float:
        return float(self._path(y, int(self.horizon))[-1])

    def _series_to_series_forecast(self, y: Any, prediction_horizon: int, exog: Any = None) -> np.ndarray:
        if exog is not None:
            raise ValueError(f"{type(self).__name__} cannot use exogenous variables; pass exog=None")
        return self._path(self._preprocess_series(y, 1, False), int(prediction_horizon))

    def predict_quantiles(
        self,
        y: Any,
        prediction_horizon: int | None = None,
        quantiles: Sequence[float] = (0.1, 0.5, 0.9),
    ) -> np.ndarray:
        """Quantile forecasts of the next ``prediction_horizon`` steps after ``y``.

        Parameters
        ----------
        y : array-like
            A univariate series (any aeon series type); NaN = missing.
        prediction_horizon : int or None, default=None
            Steps to forecast; None = ``self.horizon``.
        quantiles : sequence of float, default=(0.1, 0.5, 0.9)
            Levels among the model's (0.1, 0.2, ..., 0.9).

        Returns
        -------
        np.ndarray
            ``(prediction_horizon, len(quantiles))`` float64, non-decreasing along the last axis.
        """
        from tinyts.tasks.forecast.api import forecast

        steps = int(self.horizon if prediction_horizon is None else prediction_horizon)
        series = self._preprocess_series(y, 1, False)
        result = forecast(self._model(), series[0], steps, quantiles=tuple(quantiles), **self._options())
        return np.asarray(result.quantiles, dtype=np.float64)

    # ------------------------------------------------------------------------------------ internals
    def _model(self) -> TinyCast:
        return resolve(self.model, TinyCast, cache=True)

    def _options(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "near_steps": self.near_steps,
            "sifi": self.sifi,
            "symmetry": self.symmetry,
        }

    def _path(self, y: np.ndarray, steps: int) -> np.ndarray:
        """The point forecast of ``steps`` steps after a ``(1, time)`` series."""
        from tinyts.tasks.forecast.api import forecast

        if self.point not in POINTS:
            raise ValueError(f"point must be one of {POINTS}, got {self.point!r}")
        result = forecast(self._model(), np.asarray(y)[0], steps, **self._options())
        path = result.mean if self.point == "mean" else result.quantile(0.5)
        return np.asarray(path, dtype=np.float64)

    @classmethod
    def _get_test_params(cls, parameter_set: str = "default") -> list[dict[str, Any]]:
        """Fast settings for aeon's estimator checks: a tiny random-initialised TinyCast.

        Two instances: one step ahead (mean) and 5 steps ahead (median, rollout).
        """
        tiny = tiny_checkpoint("cast")
        return [
            {"model": tiny},
            {"model": tiny, "horizon": 5, "point": "median", "strategy": "rollout", "symmetry": False},
        ]
