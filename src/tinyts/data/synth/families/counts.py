"""Count and intermittent-demand series: Poisson, negative binomial and Croston-like zero-inflated.

Per series one of three kinds:

* ``poisson``: counts with a log-rate = log level (0.3-300) + seasonal sine + smooth AR(1) wander;
* ``negbin``: the same rate, over-dispersed by a gamma mixing factor (dispersion ``r`` 0.5-20);
* ``croston``: intermittent demand, a Bernoulli occurrence (probability 0.03-0.5) times a demand
  size ``1 + NB`` (mean size 1-50), the structure Croston's method assumes.

Values are non-negative integers (stored as floats). A series that came out constant (all zeros)
gets one count of 1 at a random point. Fully vectorised.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from tinyts.data.synth.common import loguniform
from tinyts.data.synth.families._util import check_args, ensure_varied

__all__ = ["DESCRIPTION", "KINDS", "NAME", "generate"]

NAME = "counts"
DESCRIPTION = (
    "count and intermittent demand: Poisson, negative binomial and Croston-like zero-inflated series"
)
KINDS = ("poisson", "negbin", "croston")


def generate(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """Draw ``n`` count series of ``length`` points.

    Parameters
    ----------
    rng : numpy.random.Generator
        Generator to draw from (advanced in place).
    n, length : int
        Number of series (``>= 1``) and points per series (``>= 2``).

    Returns
    -------
    np.ndarray
        ``(n, length)`` float64 of non-negative integers, not constant.
    """
    rng, n, length = check_args(rng, n, length)
    kind = rng.integers(0, len(KINDS), size=n)
    t = np.arange(length, dtype=float)[None, :]
    log_rate = np.log(loguniform(rng, 0.3, 300.0, (n, 1))) + np.zeros((n, length))
    period = rng.choice([7.0, 12.0, 24.0, 52.0], size=(n, 1))
    seas = rng.random((n, 1)) < 0.5
    log_rate += (
        seas * rng.uniform(0.1, 0.8, (n, 1)) * np.sin(2 * np.pi * t / period + rng.uniform(0, 6.3, (n, 1)))
    )
    wander = lfilter([1.0], [1.0, -0.97], rng.standard_normal((n, length)), axis=1)
    log_rate += rng.uniform(0.0, 0.1, (n, 1)) * wander
    rate = np.exp(np.minimum(log_rate, 12.0))
    r = loguniform(rng, 0.5, 20.0, (n, 1))
    mixing = np.where((kind == 1)[:, None], rng.gamma(np.broadcast_to(r, (n, length)), 1.0 / r), 1.0)
    x = rng.poisson(rate * mixing).astype(np.float64)
    cro = np.flatnonzero(kind == 2)
    if cro.size:
        p = loguniform(rng, 0.03, 0.5, (cro.size, 1))
        occurs = rng.random((cro.size, length)) < p
        size_mean = loguniform(rng, 1.0, 50.0, (cro.size, 1))
        rr = loguniform(rng, 0.5, 10.0, (cro.size, 1))
        lam = rng.gamma(np.broadcast_to(rr, (cro.size, length)), size_mean / rr)
        x[cro] = occurs * (1.0 + rng.poisson(lam))
    return ensure_varied(rng, x)
