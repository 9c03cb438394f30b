"""Exponential-smoothing state-space paths (random ETS models, as the statistical forecasters assume).

Per series, one model of the ETS taxonomy (Hyndman et al., *Forecasting with Exponential Smoothing*,
2008) is drawn and simulated: error additive or multiplicative; trend none, additive or additive
damped (``phi`` in ``[0.8, 0.98]``); seasonality none, additive or multiplicative at a period from
:data:`SEASONAL_PERIODS` (at most a third of the length). Smoothing parameters are drawn in the
ranges fitted models take on business data (``alpha`` 0.05-0.95, ``beta <= 0.3 alpha``, ``gamma <=
0.3 (1 - alpha)``), the initial growth per step 0.01-3 % of the level (log-uniform), the noise 0.5-15 %
of it.
With the recursions (``e`` the innovation, ``mu`` the one-step mean)::

    y_t = mu_t + e_t,   mu_t = (l + phi b) + s   (additive season) or (l + phi b) * s (multiplicative)
    l_t = l + phi b + alpha e / s~,   b_t = phi b + beta e / s~,   s_t = s + gamma e / (l + phi b)~

where ``s~`` is ``s`` for a multiplicative season and 1 otherwise. A multiplicative error scales
``e`` by ``|mu_t|``. This is the family of short, trended business series (yearly, quarterly,
monthly) on which ETS and Theta do well and the other generators say little about. Models with a
multiplicative part keep their level positive (floored at 1e-3 of its start, where a declining trend
stops; their trends mostly grow, a quarter decline at 0.3x the rate, damped with ``phi <= 0.95``) and
their seasonal factors above 0.05. Every row is rescaled to a random level. Vectorised over series;
the recursion loops over time. About 7 % of 1,280-point rows end in a long near-flat stretch (a
positive level at its floor, or a multiplicative random walk far below its peak).
"""

from __future__ import annotations

import numpy as np

from tinyts.data.synth.common import loguniform
from tinyts.data.synth.families._util import check_args, ensure_varied

__all__ = ["DESCRIPTION", "NAME", "SEASONAL_PERIODS", "generate"]

NAME = "ets"
DESCRIPTION = (
    "random exponential-smoothing state-space models (ETS: additive / multiplicative error, none / "
    "additive / damped trend, none / additive / multiplicative season), simulated"
)
#: Seasonal periods (points) a seasonal model draws from; those above ``length / 3`` are not drawn.
SEASONAL_PERIODS = (4, 7, 12, 24, 52)


def generate(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """Simulate one random ETS model per series.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of every random draw (advanced in place).
    n : int
        Series to simulate (``>= 1``).
    length : int
        Points per path (``>= 2``); seasonal periods above ``length / 3`` are not drawn.

    Returns
    -------
    np.ndarray
        ``(n, length)`` float64 paths, finite and not constant, each rescaled to a random level.
    """
    rng, n, length = check_args(rng, n, length)
    mult_error = rng.random(n) < 0.5
    trend = rng.integers(0, 3, n)  # 0 none, 1 additive, 2 additive damped
    phi = np.where(trend == 2, rng.uniform(0.8, 0.98, n), 1.0)
    periods = np.array([p for p in SEASONAL_PERIODS if 3 * p <= length], dtype=int)
    season = rng.integers(0, 3, n) if periods.size else np.zeros(n, dtype=int)  # 0 none, 1 add, 2 mult
    period = periods[rng.integers(0, periods.size, n)] if periods.size else np.ones(n, dtype=int)
    period = np.where(season > 0, period, 1)
    alpha = rng.uniform(0.05, 0.95, n)
    beta = np.where(trend > 0, alpha * rng.uniform(0.0, 0.3, n), 0.0)
    gamma = np.where(season > 0, (1.0 - alpha) * rng.uniform(0.0, 0.3, n), 0.0)
    sigma = loguniform(rng, 0.005, 0.15, n)

    level = np.ones(n)
    positive = mult_error | (season == 2)  # multiplicative parts need a positive level
    sign = np.where(positive, np.where(rng.random(n) < 0.25, -0.3, 1.0), rng.choice([-1.0, 1.0], n))
    slope = np.where(trend > 0, sign * loguniform(rng, 1e-4, 0.03, n), 0.0)
    declining = positive & (slope < 0)  # damped, so a positive level declines by at most ~0.6x
    phi = np.where(declining, np.minimum(phi, rng.uniform(0.8, 0.95, n)), phi)
    floor = np.where(positive, 1e-3, -np.inf)
    width = int(period.max())
    shape = rng.standard_normal((n, width))
    cols = np.arange(width)[None, :]
    inside = cols < period[:, None]
    shape = np.where(inside, shape, 0.0)
    shape -= shape.sum(axis=1, keepdims=True) / period[:, None]
    shape = np.where(inside, shape, 0.0)
    shape /= np.maximum(np.abs(shape).max(axis=1, keepdims=True), 1e-12)
    amp = rng.uniform(0.05, 0.4, (n, 1))
    seas = np.where((season == 2)[:, None], 1.0 + amp * shape, amp * shape)  # (n, width) ring buffer
    seas = np.where((season == 0)[:, None], 0.0, seas)

    noise = rng.standard_normal((n, length))
    rows = np.arange(n)
    mul_s = season == 2  # rows without a season keep s = 0 (gamma = 0), so base + s is base
    out = np.empty((n, length))
    for t in range(length):
        j = t % period
        s = seas[rows, j]
        base = level + phi * slope
        mu = np.where(mul_s, base * s, base + s)
        e = sigma * noise[:, t] * np.where(mult_error, np.abs(mu), 1.0)
        out[:, t] = mu + e
        scaled = e / np.where(mul_s, s, 1.0)
        level = base + alpha * scaled
        slope = phi * slope + beta * scaled
        low = level < floor  # a positive level at its floor stops declining
        level = np.where(low, floor, level)
        slope = np.where(low, np.maximum(slope, 0.0), slope)
        new_s = s + gamma * np.where(mul_s, e / np.maximum(base, 1e-3), e)
        seas[rows, j] = np.where(mul_s, np.maximum(new_s, 0.05), new_s)
    out /= np.maximum(np.abs(out).max(axis=1, keepdims=True), 1e-12)
    out *= loguniform(rng, 0.1, 1000.0, (n, 1))
    return ensure_varied(rng, out)
