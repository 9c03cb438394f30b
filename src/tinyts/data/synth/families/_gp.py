"""Cheap Gaussian-process-like root series for the causal-graph family (spectral sampling).

A stationary GP sample is drawn as the inverse real FFT of complex white noise shaped by the
square root of the kernel's spectral density, on a grid twice the series length (so the two ends
of the kept half are not tied by the FFT's periodic wrap). Cost O(L log L) per series, no matrix
factorisation. Rows are returned standardised (zero mean, unit std).
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sp_fft

from tinyts.data.synth.common import loguniform, standardize_rows

__all__ = ["periodic_paths", "smooth_paths"]

#: Periods (points) drawn for periodic roots, bounded by ``length / 2`` at use.
PERIODS = (4.0, 7.0, 12.0, 24.0, 30.0, 48.0, 52.0, 96.0, 168.0, 365.0)


def smooth_paths(rng: np.random.Generator, m: int, length: int) -> np.ndarray:
    """``m`` standardised samples of RBF or Matern (nu 1/2, 3/2, 5/2) GPs, random length scales."""
    size = 2 * length
    f2 = (np.arange(length + 1, dtype=float)[None, :] / size) ** 2  # squared cycles per point
    ell = loguniform(rng, 2.0, max(3.0, length / 2.0), (m, 1))
    kind = rng.integers(0, 4, size=m)  # 0 rbf, 1-3 matern nu = 0.5, 1.5, 2.5
    amp = np.empty((m, length + 1))
    for k in range(4):  # sqrt of the spectral density, up to a constant (rows are standardised)
        rows = np.flatnonzero(kind == k)
        if not rows.size:
            continue
        e = ell[rows]
        if k == 0:
            amp[rows] = np.exp(-((np.pi * e) ** 2) * f2)
        else:
            nu = k - 0.5
            u = (2.0 * nu) / e**2 + (4.0 * np.pi**2) * f2
            u /= u[:, :1]
            amp[rows] = 1.0 / np.sqrt(u) if k == 1 else 1.0 / u if k == 2 else 1.0 / (u * np.sqrt(u))
    w = np.empty((m, length + 1), dtype=np.complex128)
    w.real = rng.standard_normal((m, length + 1))
    w.imag = rng.standard_normal((m, length + 1))
    w *= amp
    x = sp_fft.irfft(w, n=size, axis=1)[:, :length]
    return standardize_rows(np.asarray(x))


def periodic_paths(rng: np.random.Generator, m: int, length: int) -> np.ndarray:
    """``m`` standardised periodic paths: 1-4 harmonics of a period from ``PERIODS`` (or log-uniform)."""
    hi = max(2.0, length / 2.0)
    common = np.asarray([p for p in PERIODS if p <= hi] or [hi])
    period = np.where(rng.random(m) < 0.7, rng.choice(common, size=m), loguniform(rng, 2.0, hi, m))
    t = np.arange(length, dtype=float)[None, :]
    base = np.exp(1j * (2.0 * np.pi / period[:, None]) * t)  # harmonic k is base**k
    harmonics = rng.integers(1, 5, size=(m, 1))
    coef = (rng.standard_normal((m, 4)) + 1j * rng.standard_normal((m, 4))) / np.arange(1, 5)
    coef *= np.arange(1, 5)[None, :] <= harmonics
    z = coef[:, 3:4] * base
    for k in (2, 1, 0):  # Horner: sum_k c_k base^(k+1)
        z = (z + coef[:, k : k + 1]) * base
    return standardize_rows(z.real)
