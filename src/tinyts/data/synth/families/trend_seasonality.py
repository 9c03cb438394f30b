"""Trend x seasonality x noise (ForecastPFN-style multiplicative series).

``y(t) = level * trend(t) * seasonal(t) * noise(t)``: ``trend`` is linear times exponential
(``(1 + a s) exp(g s)``, ``s = t / length``, kept positive); ``seasonal`` is a product of Fourier
components (3 harmonics each) of the calendar cycles of a random sampling frequency (minutely:
hourly and daily; hourly: daily and weekly; daily: weekly, monthly and yearly; weekly and monthly:
yearly), each ``1 + amplitude * shape`` with amplitudes 0-0.5; ``noise`` is Weibull with mean 1
(``1 + m (W / E W - 1)``, ForecastPFN's noise model). Fully vectorised. Values are positive.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln

from tinyts.data.synth.common import loguniform
from tinyts.data.synth.families._util import check_args, ensure_varied

__all__ = ["CYCLES", "DESCRIPTION", "NAME", "generate"]

NAME = "trend_seasonality"
DESCRIPTION = (
    "trend x seasonality x noise (ForecastPFN-style): linear-exponential trend times calendar "
    "Fourier seasonalities (daily/weekly/monthly/yearly) times Weibull noise"
)
#: Sampling frequency -> periods (in points) of its calendar cycles.
CYCLES: dict[str, tuple[float, ...]] = {
    "minutely_15": (4.0, 96.0),
    "hourly": (24.0, 168.0),
    "daily": (7.0, 30.4375, 365.25),
    "weekly": (52.1786,),
    "monthly": (12.0,),
}


def generate(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """Draw ``n`` multiplicative trend x seasonality x noise series of ``length`` points.

    Parameters
    ----------
    rng : numpy.random.Generator
        Generator to draw from (advanced in place).
    n, length : int
        Number of series (``>= 1``) and points per series (``>= 2``).

    Returns
    -------
    np.ndarray
        ``(n, length)`` float64, finite, positive, not constant.
    """
    rng, n, length = check_args(rng, n, length)
    freqs = list(CYCLES)
    freq = rng.integers(0, len(freqs), size=n)
    t = np.arange(length, dtype=float)[None, :] + rng.integers(0, 1000, (n, 1))  # random calendar start
    s = np.arange(length, dtype=float)[None, :] / length
    slope = rng.uniform(-0.6, 1.5, (n, 1)) * (rng.random((n, 1)) < 0.8)
    growth = rng.normal(0.0, 0.5, (n, 1)) * (rng.random((n, 1)) < 0.4)
    trend = np.maximum(1.0 + slope * s, 0.05) * np.exp(growth * s)
    seasonal = np.ones((n, length))
    max_cycles = max(len(c) for c in CYCLES.values())
    period = np.full((n, max_cycles), np.nan)
    for f, name in enumerate(freqs):
        cyc = CYCLES[name]
        period[freq == f, : len(cyc)] = cyc
    for c in range(max_cycles):
        rows = np.flatnonzero(np.isfinite(period[:, c]) & (rng.random(n) < 0.85))
        if not rows.size:
            continue
        p = period[rows, c : c + 1]
        shape = np.zeros((rows.size, length))
        for k in range(1, 4):
            a, b = rng.standard_normal((2, rows.size, 1)) / k
            arg = 2.0 * math.pi * k * t[rows] / p
            shape += a * np.sin(arg) + b * np.cos(arg)
        shape /= np.maximum(np.abs(shape).max(axis=1, keepdims=True), 1e-12)
        amp = rng.uniform(0.0, 0.5, (rows.size, 1))
        seasonal[rows] *= 1.0 + amp * shape
    k_w = rng.uniform(1.0, 20.0, (n, 1))
    mean_w = np.exp(gammaln(1.0 + 1.0 / k_w))
    w = rng.weibull(np.broadcast_to(k_w, (n, length)))
    noise = np.maximum(1.0 + rng.uniform(0.0, 0.3, (n, 1)) * (w / mean_w - 1.0), 0.01)
    level = loguniform(rng, 0.1, 1000.0, (n, 1))
    return ensure_varied(rng, level * trend * seasonal * noise)
