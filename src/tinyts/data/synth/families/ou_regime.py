"""Regime-switching Ornstein-Uhlenbeck processes.

Per series: 2-4 regimes, each with its own mean ``mu``, mean-reversion rate ``theta`` (per step) and
volatility ``sigma``; the regime follows a Markov chain that stays with probability 0.95-0.998 per
step and otherwise jumps to a different regime. Within a regime the process is sampled exactly:
``x_t = mu + (x_{t-1} - mu) exp(-theta) + sigma sqrt((1 - exp(-2 theta)) / (2 theta)) eps_t``.
The regime path is vectorised (cumulative sums of jumps); the OU recursion loops over time,
vectorised over series.
"""

from __future__ import annotations

import numpy as np

from tinyts.data.synth.common import loguniform
from tinyts.data.synth.families._util import check_args, ensure_varied

__all__ = ["DESCRIPTION", "NAME", "generate", "regimes"]

NAME = "ou_regime"
DESCRIPTION = "regime-switching Ornstein-Uhlenbeck processes (2-4 regimes: mean, reversion rate, volatility)"
MAX_REGIMES = 4


def regimes(rng: np.random.Generator, n: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Markov regime paths: ``(codes (n, length) int, counts (n,))``; a switch always changes regime."""
    k = rng.integers(2, MAX_REGIMES + 1, size=n)
    stay = rng.uniform(0.95, 0.998, (n, 1))
    switch = rng.random((n, length)) > stay
    switch[:, 0] = False
    jump = (rng.random((n, length)) * (k[:, None] - 1)).astype(np.int64) + 1  # 1 .. k-1
    codes = (np.cumsum(switch * jump, axis=1) + rng.integers(0, k)[:, None]) % k[:, None]
    return codes, k


def generate(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """Draw ``n`` regime-switching OU series of ``length`` points.

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
    codes, _ = regimes(rng, n, length)
    mu = rng.normal(0.0, 2.0, (n, MAX_REGIMES))
    theta = loguniform(rng, 0.005, 0.5, (n, MAX_REGIMES))
    sigma = loguniform(rng, 0.05, 1.0, (n, MAX_REGIMES))
    decay = np.exp(-theta)
    step_sd = sigma * np.sqrt((1.0 - decay**2) / (2.0 * theta))
    m_t = np.take_along_axis(mu, codes, axis=1)
    a_t = np.take_along_axis(decay, codes, axis=1)
    s_t = np.take_along_axis(step_sd, codes, axis=1) * rng.standard_normal((n, length))
    b_t = m_t * (1.0 - a_t) + s_t
    stat_sd = sigma[np.arange(n), codes[:, 0]] / np.sqrt(2.0 * theta[np.arange(n), codes[:, 0]])
    a_tm, b_tm = np.ascontiguousarray(a_t.T), np.ascontiguousarray(b_t.T)  # time-major for the loop
    x = np.empty((length, n))
    x[0] = m_t[:, 0] + stat_sd * rng.standard_normal(n)
    for i in range(1, length):
        x[i] = a_tm[i] * x[i - 1] + b_tm[i]
    x = np.ascontiguousarray(x.T)
    scale = loguniform(rng, 0.3, 30.0, (n, 1))
    return ensure_varied(rng, x * scale)
