"""Superposed seasonal ARIMA paths with heavy-tailed or intermittent noise (SarSim0-style).

Per series: 1-3 seasonal components, each at its own lag ``s`` (so several seasonalities are
superposed): a smooth deterministic seasonal shape plus a stable seasonal AR(1)/MA(1) recursion
(``y_t = Phi y_{t-s} + e_t + Theta e_{t-s}``, ``Phi`` in ``[0.6, 0.99]``) started from its
stationary marginal; plus a non-seasonal
ARIMA(2, d, 1) part (``d`` 0 or 1, stationary AR poles). Innovations are Gaussian or Student-t
(2.5-6 degrees of freedom). Observation noise is Gaussian, Student-t, or intermittent (sparse
heavy bursts). The recursions loop over time but are vectorised over all series (and all
components at once), which is far cheaper than GP kernels.
"""

from __future__ import annotations

import numpy as np

from tinyts.data.synth.common import loguniform
from tinyts.data.synth.families._util import check_args, ensure_varied

__all__ = ["DESCRIPTION", "NAME", "SEASONAL_PERIODS", "generate"]

NAME = "sarima"
DESCRIPTION = (
    "superposed seasonal ARIMA (1-3 seasonalities + ARIMA(2,d,1)) with Gaussian, Student-t or "
    "intermittent noise (SarSim0-style)"
)
#: Seasonal lags (points); those above ``length / 2`` are not drawn.
SEASONAL_PERIODS = (4, 7, 12, 24, 48, 52, 96, 168)


def _innovations(rng: np.random.Generator, shape: tuple[int, int], heavy: np.ndarray) -> np.ndarray:
    """Unit-scale innovations; rows with ``heavy`` are Student-t with 2.5-6 degrees of freedom."""
    e = rng.standard_normal(shape)
    rows = np.flatnonzero(heavy)
    if rows.size:
        df = rng.uniform(2.5, 6.0, (rows.size, 1))
        t = rng.standard_t(np.broadcast_to(df, (rows.size, shape[1])))
        e[rows] = t * np.sqrt((df - 2.0) / df)
    return e


def _seasonal(rng: np.random.Generator, m: int, length: int, periods: np.ndarray) -> np.ndarray:
    """``m`` seasonal paths at lags ``periods`` (``(m,)`` int): a fixed smooth seasonal pattern plus
    a stationary seasonal AR(1)/MA(1) recursion started from its stationary marginal."""
    phi = rng.uniform(0.6, 0.99, m)
    theta = rng.uniform(-0.5, 0.5, m)
    r = loguniform(rng, 0.1, 1.0, m)  # stationary std of the stochastic seasonal part
    e = _innovations(rng, (m, length), rng.random(m) < 0.4) * (r * np.sqrt(1.0 - phi**2))[:, None]
    t = np.arange(length, dtype=float)[None, :]
    base = np.exp(1j * (2.0 * np.pi / periods[:, None]) * t)  # smooth deterministic shape: 3 harmonics
    coef = (rng.standard_normal((m, 3)) + 1j * rng.standard_normal((m, 3))) / np.arange(1, 4)
    pattern = ((coef[:, 2:3] * base + coef[:, 1:2]) * base + coef[:, 0:1]) * base
    y = np.empty((m, length))
    for s in np.unique(periods):  # per lag: recursion over whole cycles, (rows, s) blocks at a time
        rows = np.flatnonzero(periods == s)
        cycles = -(-length // s)
        pad = cycles * s - length
        eg = np.pad(e[rows], ((0, 0), (0, pad))).reshape(rows.size, cycles, s).transpose(1, 0, 2).copy()
        yg = np.empty_like(eg)
        yg[0] = rng.standard_normal((rows.size, s)) * r[rows, None]  # stationary start
        p_r, t_r = phi[rows, None], theta[rows, None]
        for c in range(1, cycles):
            yg[c] = p_r * yg[c - 1] + eg[c] + t_r * eg[c - 1]
        y[rows] = yg.transpose(1, 0, 2).reshape(rows.size, cycles * s)[:, :length]
    return y + rng.uniform(0.0, 1.0, (m, 1)) * pattern.real


def _arima(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """``n`` ARIMA(2, d, 1) paths with stationary AR poles, ``d`` 0 (60 %) or 1."""
    r1, r2 = rng.uniform(-0.9, 0.95, n), rng.uniform(-0.5, 0.5, n) * (rng.random(n) < 0.5)
    a1, a2 = r1 + r2, -r1 * r2  # AR polynomial with real poles r1, r2 inside the unit circle
    b = rng.uniform(-0.6, 0.6, n)
    burn = 64
    e = _innovations(rng, (n, length + burn), rng.random(n) < 0.4)
    e = np.ascontiguousarray(e.T)  # time-major: each step touches contiguous memory
    z = np.zeros((length + burn, n))
    z[0] = e[0]
    z[1] = a1 * z[0] + e[1] + b * e[0]
    for i in range(2, length + burn):
        z[i] = a1 * z[i - 1] + a2 * z[i - 2] + e[i] + b * e[i - 1]
    z = np.ascontiguousarray(z[burn:].T)
    integrate = rng.random(n) < 0.4
    z[integrate] = np.cumsum(z[integrate], axis=1) * 0.1
    return z


def generate(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """Draw ``n`` superposed seasonal ARIMA series of ``length`` points.

    Parameters
    ----------
    rng : numpy.random.Generator
        Generator to draw from (advanced in place).
    n, length : int
        Number of series (``>= 1``) and points per series (``>= 2``).

    Returns
    -------
    np.ndarray
        ``(n, length)`` float64, finite, not constant; values of order 0.1-100.
    """
    rng, n, length = check_args(rng, n, length)
    allowed = np.asarray([p for p in SEASONAL_PERIODS if p <= length // 2] or [max(2, length // 2)])
    k = rng.integers(1, 4, size=n)
    comp_rows = np.repeat(np.arange(n), k)
    periods = rng.choice(allowed, size=comp_rows.size)
    amp = loguniform(rng, 0.2, 2.0, comp_rows.size)
    seas = _seasonal(rng, comp_rows.size, length, periods) * amp[:, None]
    x = np.zeros((n, length))
    np.add.at(x, comp_rows, seas)
    x += loguniform(rng, 0.05, 1.0, (n, 1)) * _arima(rng, n, length)
    kind = rng.integers(0, 3, size=n)  # observation noise: 0 gaussian, 1 student-t, 2 intermittent
    sd = loguniform(rng, 0.05, 0.5, (n, 1))
    noise = _innovations(rng, (n, length), kind == 1)
    burst = (rng.random((n, length)) < rng.uniform(0.01, 0.1, (n, 1))) * np.abs(noise) * 8.0
    x += sd * np.where((kind == 2)[:, None], burst, noise)
    scale = loguniform(rng, 0.3, 30.0, (n, 1))
    offset = rng.normal(0.0, 2.0, (n, 1)) * (rng.random((n, 1)) < 0.5)
    return ensure_varied(rng, (x + offset) * scale)
