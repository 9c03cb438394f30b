"""Steps: piecewise-constant levels with random level shifts.

Per series: change points at a rate of 1-12 per series (at least one), jumps Gaussian or
Student-t (heavy-tailed), a share of the shifts spread over a short linear ramp instead of one step,
optional slow drift, and small Gaussian noise (0.5-10 % of the typical jump). Fully vectorised.
"""

from __future__ import annotations

import numpy as np

from tinyts.data.synth.common import loguniform
from tinyts.data.synth.families._util import check_args, ensure_varied

__all__ = ["DESCRIPTION", "NAME", "generate"]

NAME = "steps"
DESCRIPTION = "piecewise-constant levels with random level shifts (some ramped), small noise"


def generate(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """Draw ``n`` step series of ``length`` points.

    Parameters
    ----------
    rng : numpy.random.Generator
        Generator to draw from (advanced in place).
    n, length : int
        Number of series (``>= 1``) and points per series (``>= 2``).

    Returns
    -------
    np.ndarray
        ``(n, length)`` float64, finite, not constant; at least one level shift per series.
    """
    rng, n, length = check_args(rng, n, length)
    rate = loguniform(rng, 1.0, 12.0, (n, 1)) / length
    change = rng.random((n, length)) < rate
    change[:, 0] = False
    none = ~change.any(axis=1)
    if none.any():
        change[np.flatnonzero(none), rng.integers(1, length, size=int(none.sum()))] = True
    heavy = rng.random((n, 1)) < 0.4
    jumps = np.where(heavy, rng.standard_t(3.0, (n, length)), rng.standard_normal((n, length)))
    jumps = np.where(np.abs(jumps) < 0.3, np.sign(jumps + 1e-12) * 0.3, jumps)  # visible shifts
    level = np.cumsum(change * jumps, axis=1)
    ramp = np.flatnonzero(rng.random(n) < 0.3)
    if ramp.size:  # spread each shift of these rows over w points: trailing moving average of the level
        w = rng.integers(2, max(3, min(20, length // 8 + 1)), size=ramp.size)
        c = np.concatenate([np.zeros((ramp.size, 1)), np.cumsum(level[ramp], axis=1)], axis=1)
        hi = np.arange(1, length + 1)[None, :]
        lo = np.maximum(hi - w[:, None], 0)
        total = c[:, 1:] - np.take_along_axis(c, lo, axis=1)
        level[ramp] = total / np.minimum(hi, w[:, None])
    s = np.linspace(0.0, 1.0, length)[None, :]
    drift = rng.normal(0.0, 1.0, (n, 1)) * (rng.random((n, 1)) < 0.3)
    noise = loguniform(rng, 0.005, 0.1, (n, 1)) * rng.standard_normal((n, length))
    x = level + drift * s + noise + rng.normal(0.0, 3.0, (n, 1))
    return ensure_varied(rng, x * loguniform(rng, 0.3, 30.0, (n, 1)))
