"""Sawtooth series: linear ramps that drop (or rise) back at every period.

Per series: period log-uniform in ``[4, length / 3]`` (so at least three drops), a random phase,
rising ramps with periodic drops or falling ramps with periodic jumps, optional slow trend and
slow amplitude modulation, small Gaussian noise (0.5-5 % of the amplitude). Fully vectorised.
"""

from __future__ import annotations

import numpy as np

from tinyts.data.synth.common import loguniform
from tinyts.data.synth.families._util import check_args, ensure_varied

__all__ = ["DESCRIPTION", "NAME", "generate"]

NAME = "sawtooth"
DESCRIPTION = "sawtooth waves: linear ramps with periodic drops (or jumps), optional trend and modulation"


def generate(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """Draw ``n`` sawtooth series of ``length`` points.

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
    hi = max(4.0, length / 3.0)
    period = loguniform(rng, min(4.0, hi), hi, (n, 1))
    t = np.arange(length, dtype=float)[None, :]
    ramp = np.mod(t / period + rng.random((n, 1)), 1.0)
    ramp = np.where(rng.random((n, 1)) < 0.7, ramp, 1.0 - ramp)
    s = np.linspace(0.0, 1.0, length)[None, :]
    modulation = 1.0 + rng.uniform(0.0, 0.3, (n, 1)) * np.sin(
        2.0 * np.pi * s * rng.uniform(0.2, 1.5, (n, 1)) + rng.uniform(0, 2 * np.pi, (n, 1))
    )
    trend = rng.normal(0.0, 0.5, (n, 1)) * (rng.random((n, 1)) < 0.4) * s
    noise = loguniform(rng, 0.005, 0.05, (n, 1)) * rng.standard_normal((n, length))
    x = modulation * ramp + trend + noise + rng.normal(0.0, 2.0, (n, 1))
    return ensure_varied(rng, x * loguniform(rng, 0.3, 30.0, (n, 1)))
