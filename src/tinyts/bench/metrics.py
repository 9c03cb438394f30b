"""Forecasting and imputation metrics shared by the benchmark suites.

All functions take numpy arrays and return plain floats. Errors are *pooled*: summed over every
scored point of every series and divided once, as the LTSF and TSPulse papers do (not a mean of
per-series means), except MASE, which is a mean of per-series ratios as in the M4/Monash/GIFT-Eval
convention.

- :func:`mse`, :func:`mae`: optionally restricted to a boolean ``mask`` (``True`` = scored point,
  e.g. the hidden points of an imputation mask).
- :func:`mase`: mean absolute error divided by the in-sample seasonal-naive MAE of the context.
- :func:`crps_quantiles`: CRPS approximated by the mean weighted quantile loss over the quantile
  levels 0.1, ..., 0.9, exactly as GIFT-Eval / GluonTS ``MeanWeightedSumQuantileLoss``:
  ``mean_q 2 * sum |(y - yhat_q) * (1{y <= yhat_q} - q)| / sum |y|``. A point forecast passed as
  every quantile gives ``sum |y - yhat| / sum |y|`` (the normalised deviation, an MAE-like score).
- :func:`seasonal_period`: the season length used by MASE, seasonal naive and seasonal peers,
  from the timestamps' frequency (hourly 24, 15-min 96, ...) or, failing that, an ACF estimate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "QUANTILES",
    "acf_period",
    "crps_quantiles",
    "mae",
    "mase",
    "mase_terms",
    "mse",
    "seasonal_period",
    "seasonal_scale",
]

#: The quantile levels GIFT-Eval scores CRPS on.
QUANTILES: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)

#: Seasonal period by sampling step in seconds (one day for sub-daily data, a week for daily data,
#: a year for weekly data, as the M4 / GluonTS conventions do).
_PERIOD_BY_STEP: dict[int, int] = {
    60: 1440,  # 1 min
    5 * 60: 288,
    10 * 60: 144,
    15 * 60: 96,
    30 * 60: 48,
    3600: 24,
    86400: 7,
    7 * 86400: 52,
}


def _pair(pred: np.ndarray, target: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    if p.shape != t.shape:
        raise ValueError(f"pred and target must have the same shape, got {p.shape} and {t.shape}")
    if mask is not None:
        m = np.asarray(mask)
        if m.dtype != np.bool_:
            raise TypeError(f"mask must be a bool array (True = scored point), got dtype {m.dtype}")
        if m.shape != p.shape:
            raise ValueError(f"mask shape {m.shape} differs from pred/target shape {p.shape}")
        p, t = p[m], t[m]
    if p.size == 0:
        raise ValueError("no point to score (empty input or an all-False mask)")
    return p, t


def mse(pred: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Pooled mean squared error, over the points where ``mask`` is True (all points if None)."""
    p, t = _pair(pred, target, mask)
    return float(np.mean((p - t) ** 2))


def mae(pred: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Pooled mean absolute error, over the points where ``mask`` is True (all points if None)."""
    p, t = _pair(pred, target, mask)
    return float(np.mean(np.abs(p - t)))


def seasonal_scale(context: np.ndarray, period: int) -> np.ndarray:
    """In-sample seasonal-naive MAE of each context: ``mean_t |y_t - y_(t-period)|``.

    Parameters
    ----------
    context : np.ndarray
        ``(n_series, n_time)`` (or ``(n_time,)``) history of each series.
    period : int
        Season length; when a context is not longer than ``period``, lag 1 is used instead (the
        GluonTS fallback).

    Returns
    -------
    np.ndarray
        ``(n_series,)`` scales (0 for a series that repeats itself exactly).
    """
    c = np.atleast_2d(np.asarray(context, dtype=np.float64))
    if c.ndim != 2:
        raise ValueError(f"context must be (n_series, n_time), got shape {np.shape(context)}")
    if isinstance(period, bool) or not isinstance(period, (int, np.integer)) or period < 1:
        raise ValueError(f"period must be a positive int, got {period!r}")
    lag = int(period) if c.shape[1] > period else 1
    if c.shape[1] <= lag:
        raise ValueError(f"context of {c.shape[1]} points is too short for a seasonal scale")
    return np.asarray(np.mean(np.abs(c[:, lag:] - c[:, :-lag]), axis=1))


def mase(pred: np.ndarray, target: np.ndarray, context: np.ndarray, period: int) -> float:
    """Mean absolute scaled error: per series ``MAE / seasonal_scale(context)``, averaged over series.

    Parameters
    ----------
    pred, target : np.ndarray
        ``(n_series, horizon)`` forecasts and true future values.
    context : np.ndarray
        ``(n_series, n_time)`` the history the forecast was made from (the in-sample scale).
    period : int
        Season length of the seasonal-naive scale.

    Returns
    -------
    float
        The mean over series whose scale is positive; series with a zero scale (a context that
        repeats itself exactly) have an undefined ratio and are left out. Raises ``ValueError`` if
        none is left.
    """
    terms = mase_terms(pred, target, context, period)
    if np.isnan(terms).all():
        raise ValueError("every series has a zero seasonal scale: MASE is undefined")
    return float(np.nanmean(terms))


def mase_terms(pred: np.ndarray, target: np.ndarray, context: np.ndarray, period: int) -> np.ndarray:
    """Per-series ``MAE / seasonal_scale(context)`` (:func:`mase` is their mean): ``(n_series,)``.

    A series with a zero scale gets NaN (its ratio is undefined). Arguments as :func:`mase`.
    """
    p, t = _pair(np.atleast_2d(pred), np.atleast_2d(target), None)
    scale = seasonal_scale(context, period)
    if scale.shape[0] != p.shape[0]:
        raise ValueError(f"context has {scale.shape[0]} series, pred has {p.shape[0]}")
    ok = scale > 0
    out = np.full(p.shape[0], np.nan)
    out[ok] = np.mean(np.abs(p - t), axis=1)[ok] / scale[ok]
    return out


def crps_quantiles(
    quantile_preds: np.ndarray, target: np.ndarray, quantiles: Sequence[float] = QUANTILES
) -> float:
    """CRPS as the mean weighted quantile loss (GIFT-Eval / GluonTS ``MeanWeightedSumQuantileLoss``).

    Parameters
    ----------
    quantile_preds : np.ndarray
        ``(..., n_quantiles)`` predicted quantiles, the last axis in the order of ``quantiles``.
    target : np.ndarray
        ``(...)`` true values, the shape of ``quantile_preds`` without its last axis.
    quantiles : sequence of float
        Quantile levels in (0, 1); GIFT-Eval uses 0.1, ..., 0.9.

    Returns
    -------
    float
        ``mean_q [2 * sum |(y - yhat_q) * (1{y <= yhat_q} - q)|] / sum |y|``, sums over every point.
        For a point forecast (the same value at every level) it equals ``sum |y - yhat| / sum |y|``
        when the levels are symmetric around 0.5.
    """
    qp = np.asarray(quantile_preds, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    levels = np.asarray(quantiles, dtype=np.float64)
    if levels.ndim != 1 or levels.size == 0 or np.any((levels <= 0) | (levels >= 1)):
        raise ValueError(f"quantiles must be a non-empty list of levels in (0, 1), got {quantiles!r}")
    if qp.shape != (*y.shape, levels.size):
        raise ValueError(
            f"quantile_preds must have shape target.shape + (n_quantiles,) = {(*y.shape, levels.size)}, "
            f"got {qp.shape}"
        )
    denom = float(np.sum(np.abs(y)))
    if y.size == 0 or denom == 0.0:
        raise ValueError("the target is empty or all zero: the weighted quantile loss is undefined")
    err = y[..., None] - qp
    loss = 2.0 * np.abs(err * ((y[..., None] <= qp).astype(np.float64) - levels))
    per_level = loss.reshape(-1, levels.size).sum(axis=0) / denom
    return float(np.mean(per_level))


def acf_period(x: np.ndarray, max_lag: int | None = None) -> int:
    """Season length estimated from the autocorrelation: the lag of its highest local peak.

    Parameters
    ----------
    x : np.ndarray
        ``(n_time,)`` or ``(n_channels, n_time)``; channels are averaged after standardising each.
    max_lag : int, optional
        Largest lag looked at; default ``min(n_time // 3, 1000)``.

    Returns
    -------
    int
        The lag (>= 2) of the largest positive local maximum of the ACF, or 1 when there is none
        (no detectable season).
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"x must be (n_time,) or (n_channels, n_time), got shape {np.shape(x)}")
    arr = arr.T  # (n_time, n_channels) for the column-wise FFT below
    arr = arr[np.all(np.isfinite(arr), axis=1)]
    n = arr.shape[0]
    if n < 8:
        return 1
    limit = min(n // 3, 1000) if max_lag is None else min(int(max_lag), n - 1)
    if limit < 3:
        return 1
    std = arr.std(axis=0)
    arr = (arr[:, std > 0] - arr[:, std > 0].mean(axis=0)) / std[std > 0]
    if arr.shape[1] == 0:
        return 1
    size = 1 << int(np.ceil(np.log2(2 * n)))
    spec = np.fft.rfft(arr, n=size, axis=0)
    acf = np.fft.irfft(np.abs(spec) ** 2, n=size, axis=0)[: limit + 2].mean(axis=1)
    acf = acf / acf[0]
    inner = acf[1:-1]
    peaks = np.flatnonzero((inner > acf[:-2]) & (inner >= acf[2:]) & (inner > 0)) + 1
    peaks = peaks[(peaks >= 2) & (peaks <= limit)]
    if peaks.size == 0:
        return 1
    return int(peaks[np.argmax(acf[peaks])])


def seasonal_period(timestamps: np.ndarray | None, values: np.ndarray | None = None) -> int:
    """Season length from the sampling step of ``timestamps``; an ACF estimate otherwise.

    Steps (median difference): 1 min -> 1440, 5 min -> 288, 10 min -> 144, 15 min -> 96,
    30 min -> 48, hourly -> 24, daily -> 7, weekly -> 52. Any other step, or no timestamps, uses
    :func:`acf_period` on ``values`` (1 if ``values`` is None too).
    """
    if timestamps is not None and len(timestamps) >= 2:
        stamps = np.asarray(timestamps).astype("datetime64[s]").astype(np.int64)
        step = int(np.median(np.diff(stamps)))
        if step in _PERIOD_BY_STEP:
            return _PERIOD_BY_STEP[step]
    if values is None:
        return 1
    return acf_period(values)
