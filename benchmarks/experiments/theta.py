"""The Theta method (Assimakopoulos & Nikolopoulos 2000), as Hyndman & Billah (2003) state it.

A small, dependency-free statistical forecaster for the experiment ``cast_theta_dev.py`` (combining it with
TinyCast on short series, where the network extrapolates trends too weakly: docs/tinycast.md, "TinyCast on
short series"). Not part of the package: the combination did not help on the development data. Checked
against statsforecast's ``Theta``: forecasts within 0.01-0.8 % on seeded trending / seasonal series.

Steps, as ``forecast::thetaf`` in R:

1. Seasonality test (``period > 1`` and at least ``2 * period`` points): the autocorrelation at lag
   ``period`` against its standard error under white noise (Bartlett), one-sided at 95 % (``qnorm(0.95)``).
   A seasonal series is divided by its classical multiplicative seasonal indices (additive where the
   series is not positive).
2. Simple exponential smoothing of the adjusted series, smoothing weight ``alpha`` on a grid of 99 values
   and the initial level by least squares (both minimise the one-step squared error).
3. The forecast is the SES level plus half the slope ``b`` of a least-squares line through the
   history: ``l_n + b / 2 * (j + (1 - (1 - alpha) ** n) / alpha)`` for ``j = 0 .. h - 1``; then the
   seasonal indices are put back.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["seasonal_indices", "theta_forecast"]

_ALPHAS = np.linspace(0.01, 0.99, 99)
_Z95 = 1.6448536269514722  # one-sided 95 % normal quantile (R: qnorm(0.95))


def _acf(y: np.ndarray, max_lag: int) -> np.ndarray:
    d = y - y.mean()
    den = float(d @ d)
    if den <= 0:
        return np.zeros(max_lag + 1)
    return np.array([float(d[k:] @ d[: len(d) - k]) / den for k in range(max_lag + 1)])


def _is_seasonal(y: np.ndarray, period: int) -> bool:
    n = len(y)
    if period <= 1 or n < 2 * period:
        return False
    r = _acf(y, period)
    se = math.sqrt((1.0 + 2.0 * float(np.sum(r[1:period] ** 2))) / n)
    return bool(abs(r[period]) / se > _Z95)


def seasonal_indices(y: np.ndarray, period: int, multiplicative: bool) -> np.ndarray:
    """Classical decomposition's seasonal indices, one per phase, phase 0 = the first point of ``y``.

    Parameters
    ----------
    y : np.ndarray
        ``(time,)``, finite, at least ``2 * period`` points.
    period : int
        Season length (>= 2).
    multiplicative : bool
        Ratios to the centred moving average (mean 1) or differences (mean 0).

    Returns
    -------
    np.ndarray
        ``(period,)``.
    """
    n = len(y)
    if period % 2:
        w = np.ones(period) / period
    else:
        w = np.r_[0.5, np.ones(period - 1), 0.5] / period
    trend = np.convolve(y, w, mode="valid")  # centred: trend[i] belongs to y[i + len(w) // 2]
    off = len(w) // 2
    core = y[off : off + len(trend)]
    detr = core / trend if multiplicative else core - trend
    phase = (np.arange(len(trend)) + off) % period
    idx = np.array([detr[phase == p].mean() for p in range(period)])
    if n < 2 * period or not np.isfinite(idx).all():
        return np.ones(period) if multiplicative else np.zeros(period)
    return idx / idx.mean() if multiplicative else idx - idx.mean()


def _ses(y: np.ndarray) -> tuple[float, float]:
    """SES fitted by one-step squared error: ``(alpha, last level)``."""
    n = len(y)
    a = _ALPHAS
    # one-step errors with initial level 0 (u) and the coefficient of the initial level (c):
    # level_t = (1 - a)^t l0 + (terms in y), error_t = u_t - c_t l0 with c_t = (1 - a)^t.
    lev = np.zeros_like(a)
    u = np.empty((n, len(a)))
    c = np.empty((n, len(a)))
    for t in range(n):
        u[t] = y[t] - lev
        c[t] = (1.0 - a) ** t
        lev = lev + a * u[t]
    l0 = np.einsum("ta,ta->a", u, c) / np.maximum(np.einsum("ta,ta->a", c, c), 1e-300)
    sse = np.sum((u - c * l0) ** 2, axis=0)
    k = int(np.argmin(sse))
    level = lev[k] + (1.0 - a[k]) ** n * l0[k]
    return float(a[k]), float(level)


def theta_forecast(y: np.ndarray, horizon: int, period: int = 1) -> np.ndarray:
    """Theta-method point forecast of one series.

    Parameters
    ----------
    y : np.ndarray
        ``(time,)`` history, finite (fill or drop missing values first); at least 2 points.
    horizon : int
        Steps ahead (>= 1).
    period : int
        Season length (1 = no seasonal adjustment).

    Returns
    -------
    np.ndarray
        ``(horizon,)`` float64.

    Raises
    ------
    ValueError
        Fewer than 2 points, non-finite values, a horizon or period below 1.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or len(y) < 2:
        raise ValueError(f"theta_forecast needs a 1-D history of at least 2 points, got shape {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError("theta_forecast needs finite values: fill or drop missing points first")
    if horizon < 1 or period < 1:
        raise ValueError(f"horizon and period must be >= 1, got {horizon} and {period}")
    n = len(y)
    seasonal = _is_seasonal(y, period)
    mult = bool(seasonal and np.all(y > 0))
    if seasonal:
        idx = seasonal_indices(y, period, mult)
        s_hist = idx[np.arange(n) % period]
        adj = y / s_hist if mult else y - s_hist
    else:
        adj = y
    alpha, level = _ses(adj)
    t = np.arange(n, dtype=np.float64)
    slope = float(np.polyfit(t, adj, 1)[0])
    j = np.arange(horizon, dtype=np.float64)
    fc = level + slope / 2.0 * (j + (1.0 - (1.0 - alpha) ** n) / alpha)
    if seasonal:
        s_fut = idx[(n + np.arange(horizon)) % period]
        fc = fc * s_fut if mult else fc + s_fut
    return fc
