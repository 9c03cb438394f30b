"""Spikes and shocks with recovery.

Per series: a baseline (a level plus a persistent AR(1) wander and white noise, sometimes a sine),
1-4 shocks at random times, each ``A exp(-(t - t0) / tau)`` for ``t >= t0`` (magnitude 3-15
baseline noise units, either sign, recovery time ``tau`` 2-60 points: an exponential decay back to
the baseline), and isolated one-point spikes at a rate of 0-2 %. Vectorised over series and shocks.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from tinyts.data.synth.common import loguniform
from tinyts.data.synth.families._util import check_args, ensure_varied

__all__ = ["DESCRIPTION", "NAME", "generate"]

NAME = "spikes"
DESCRIPTION = "spikes and shocks with exponential recovery on a noisy baseline"
MAX_SHOCKS = 4


def generate(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """Draw ``n`` series with shocks and spikes, ``length`` points each.

    Parameters
    ----------
    rng : numpy.random.Generator
        Generator to draw from (advanced in place).
    n, length : int
        Number of series (``>= 1``) and points per series (``>= 2``).

    Returns
    -------
    np.ndarray
        ``(n, length)`` float64, finite, not constant.
    """
    rng, n, length = check_args(rng, n, length)
    t = np.arange(length, dtype=float)[None, :]
    wander = lfilter([1.0], [1.0, -0.95], rng.standard_normal((n, length)), axis=1) * 0.1
    base = rng.standard_normal((n, length)) * loguniform(rng, 0.3, 1.0, (n, 1)) + wander
    sine = rng.random((n, 1)) < 0.3
    base += sine * 2.0 * np.sin(2.0 * np.pi * t / loguniform(rng, 8.0, max(9.0, length / 2), (n, 1)))
    k = rng.integers(1, MAX_SHOCKS + 1, size=n)
    on = np.arange(MAX_SHOCKS)[None, :] < k[:, None]
    t0 = rng.integers(0, length, size=(n, MAX_SHOCKS))[:, :, None]
    amp = loguniform(rng, 3.0, 15.0, (n, MAX_SHOCKS)) * rng.choice([-1.0, 1.0], size=(n, MAX_SHOCKS))
    tau = loguniform(rng, 2.0, 60.0, (n, MAX_SHOCKS))[:, :, None]
    lag = t[:, None, :] - t0
    shock = np.where(lag >= 0, np.exp(-np.maximum(lag, 0.0) / tau), 0.0)
    x = base + np.einsum("nk,nkl->nl", amp * on, shock)
    spikes = rng.random((n, length)) < rng.uniform(0.0, 0.02, (n, 1))
    x += spikes * loguniform(rng, 4.0, 12.0, (n, length)) * rng.choice([-1.0, 1.0], size=(n, length))
    x += rng.normal(0.0, 5.0, (n, 1))
    return ensure_varied(rng, x * loguniform(rng, 0.1, 10.0, (n, 1)))
