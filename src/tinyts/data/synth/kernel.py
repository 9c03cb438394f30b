"""KernelSynth-style series (as in Chronos): samples of Gaussian processes whose kernel is a random
sum/product of kernels from a bank.

Kernel bank (time ``x = t / (L - 1)`` in ``[0, 1]``, lags ``tau`` in points):

* ``periodic``  ``exp(-2 sin^2(pi tau / p) / l^2)``, ``p`` from ``COMMON_PERIODS`` (Chronos' list:
  hourly, daily, weekly, monthly ... cycles) with probability ``p_common_period`` (0.7), else
  log-uniform in ``[2, L/2]``; ``l`` log-uniform in ``[0.5, 2]``;
* ``rbf``       ``exp(-tau^2 / (2 l^2))``, ``l / L`` log-uniform in ``[0.02, 5]``;
* ``rq``        ``(1 + tau^2 / (2 a l^2))^-a``, ``a`` log-uniform in ``[0.1, 10]``,
  ``l / L`` in ``[0.02, 1]``;
* ``linear``    ``s^2 + x x'`` (dot product), ``s`` 0 or log-uniform in ``[0.1, 10]``;
* ``white``     ``v delta(tau)``, ``v`` log-uniform in ``[0.01, 1]``;
* ``constant``  ``c``, log-uniform in ``[0.1, 3]``.

Each series draws ``J`` uniform in ``1..max_kernels`` kernels (the first never ``constant``; at most
two ``linear`` ones, extra ones become ``rbf``) and folds them left to right with ``+`` or ``*``
(probability 1/2 each), exactly as Chronos' KernelSynth.

**Sampling (our choice, exact up to a documented clipping).** Exact GP sampling by Cholesky costs
O(L^3) per kernel. Instead the folded kernel is expanded into a sum of product terms, each
``stationary(tau) * prod(linear)``. A stationary product is sampled on the full grid by *circulant
embedding* (Wood & Chan): its covariance on lags ``0..L`` is embedded in a circulant of size ``2L``
whose eigenvalues are one real FFT; a sample is one inverse FFT of complex white noise scaled by
their square roots, O(L log L) per series and fully vectorised, with every series having its own
kernel. Negative eigenvalues (only for length scales comparable to the series length) are clipped
to zero; the resulting covariance differs from the kernel by at most about 0.05 k(0) (measured for
RBF length scales 0.01-10 L). Linear factors enter exactly through features: a term
``k_s * prod_i (s_i^2 + x x')`` equals ``sum_f psi_f(x) psi_f(x') k_s``, so its sample is
``sum_f psi_f(x) g_f(x)`` with independent stationary samples ``g_f``. Short periods are thus never
aliased, unlike sampling on a coarse grid and interpolating.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import fft as sp_fft

from tinyts.data.synth.common import (
    check_int,
    check_prob,
    check_weights,
    child_rngs,
    chunk_bounds,
    loguniform,
    resolve_rng,
    weighted_codes,
)

__all__ = ["COMMON_PERIODS", "KERNEL_KINDS", "kernel_synth"]

KERNEL_KINDS = ("periodic", "rbf", "rq", "linear", "white", "constant")
#: Periods (in points) of Chronos' KernelSynth bank: hourly/daily/weekly/monthly/quarterly/yearly cycles.
COMMON_PERIODS = (
    24.0,
    48.0,
    96.0,
    168.0,
    336.0,
    672.0,
    7.0,
    14.0,
    30.0,
    60.0,
    365.0,
    730.0,
    4.0,
    26.0,
    52.0,
    6.0,
    12.0,
    40.0,
    10.0,
)
DEFAULT_WEIGHTS = {"periodic": 0.5, "rbf": 0.15, "rq": 0.15, "linear": 0.1, "white": 0.05, "constant": 0.05}
_CHUNK_VALUES = 1 << 19
_MAX_LINEAR = 2


def _stationary_values(
    rng: np.random.Generator,
    kind: str,
    m: int,
    tau: np.ndarray,
    length: int,
    periods: tuple[float, ...],
    p_common: float,
) -> np.ndarray:
    """Covariance of ``m`` draws of a stationary kernel on lags ``tau`` (``(m, H)``)."""
    if kind == "periodic":
        hi = max(length / 2.0, 2.0)
        common = np.asarray([p for p in periods if p <= hi] or [hi])
        p = np.where(rng.random(m) < p_common, rng.choice(common, size=m), loguniform(rng, 2.0, hi, m))[
            :, None
        ]
        ell = loguniform(rng, 0.5, 2.0, (m, 1))
        return np.exp(-2.0 * (np.sin(np.pi * tau / p) / ell) ** 2)
    if kind == "rbf":
        ell = loguniform(rng, 0.02, 5.0, (m, 1)) * length
        return np.exp(-0.5 * (tau / ell) ** 2)
    if kind == "rq":
        a = loguniform(rng, 0.1, 10.0, (m, 1))
        ell = loguniform(rng, 0.02, 1.0, (m, 1)) * length
        return (1.0 + tau**2 / (2.0 * a * ell**2)) ** (-a)
    if kind == "white":
        return loguniform(rng, 0.01, 1.0, (m, 1)) * (tau == 0)
    if kind == "constant":
        return np.broadcast_to(loguniform(rng, 0.1, 3.0, (m, 1)), (m, tau.shape[1])).copy()
    raise ValueError(f"unknown kernel kind {kind!r}")


def _circulant_samples(rng: np.random.Generator, amp: np.ndarray, length: int) -> np.ndarray:
    """One stationary GP sample per row: inverse real FFT of complex white noise times ``amp``.

    ``amp`` is ``sqrt(eigenvalues)`` already multiplied by the std of the real FFT of unit white noise
    of the circulant size (``sqrt(M / 2)`` per component inside, ``sqrt(M)`` at DC and Nyquist).
    """
    m, h = amp.shape
    w = np.empty((m, h), dtype=np.complex128)
    w.real = rng.standard_normal((m, h))
    w.imag = rng.standard_normal((m, h))
    w.imag[:, [0, -1]] = 0.0  # DC and Nyquist bins are real
    w *= amp
    return np.asarray(sp_fft.irfft(w, n=2 * (h - 1), axis=1)[:, :length])


def _chunk(
    rng: np.random.Generator,
    n: int,
    length: int,
    max_kernels: int,
    weights: dict[str, float],
    periods: tuple[float, ...],
    p_common: float,
) -> np.ndarray:
    k = max_kernels
    h = length + 1
    tau = np.arange(h, dtype=float)[None, :]
    noise_std = np.full(h, np.sqrt(float(length)))  # std of rfft(N(0, I_2L)) per bin, real/imag part
    noise_std[[0, -1]] = np.sqrt(2.0 * length)
    x = np.linspace(0.0, 1.0, length)[None, :]
    n_k = rng.integers(1, k + 1, size=n)
    kinds = weighted_codes(rng, weights, KERNEL_KINDS, n * k).reshape(n, k)
    lin, const, rbf = KERNEL_KINDS.index("linear"), KERNEL_KINDS.index("constant"), KERNEL_KINDS.index("rbf")
    first_const = kinds[:, 0] == const
    if first_const.any():  # a constant first kernel could leave a constant series
        kinds[first_const, 0] = rbf
    active = np.arange(k)[None, :] < n_k[:, None]
    too_many = (np.cumsum((kinds == lin) & active, axis=1) > _MAX_LINEAR) & (kinds == lin)
    kinds[too_many] = rbf
    plus = rng.random((n, k)) < 0.5

    stat = np.ones((n, k, h))  # stationary factor of each product term
    term = np.zeros((n, k), dtype=bool)  # which term slots exist
    lin_n = np.zeros((n, k), dtype=np.int64)  # linear factors per term
    lin_s = np.zeros((n, k, _MAX_LINEAR))  # their sigma_0
    for j in range(k):
        kval = np.ones((n, h))
        for code, kind in enumerate(KERNEL_KINDS):
            sel = np.flatnonzero((kinds[:, j] == code) & active[:, j])
            if sel.size and kind != "linear":
                kval[sel] = _stationary_values(rng, kind, sel.size, tau, length, periods, p_common)
        is_lin = (kinds[:, j] == lin) & active[:, j]
        sigma0 = np.where(rng.random(n) < 0.3, 0.0, loguniform(rng, 0.1, 10.0, n))
        new = active[:, j] & ((j == 0) | plus[:, j])
        mul = active[:, j] & ~new
        # "+": the kernel opens a new product term
        stat[new, j] = kval[new]
        term[new, j] = True
        nl = new & is_lin
        lin_n[nl, j] = 1
        lin_s[nl, j, 0] = sigma0[nl]
        # "*": it multiplies every existing term
        stat[mul, :j] *= kval[mul, None, :]
        ml = np.flatnonzero(mul & is_lin)
        if ml.size:
            rows, slots = np.nonzero(term[ml, :j])
            rows = ml[rows]
            lin_s[rows, slots, lin_n[rows, slots]] = sigma0[rows]
            lin_n[rows, slots] += 1

    out = np.zeros((n, length))
    for s in range(k):
        rows = np.flatnonzero(term[:, s])
        if rows.size == 0:
            continue
        c = stat[rows, s]
        # eigenvalues of the circulant embedding = DCT-I of the covariance on lags 0..L (the real FFT
        # of its even extension to 2L points); negative ones are clipped
        lam = sp_fft.dct(c, type=1, axis=1)
        lam_sqrt = np.sqrt(np.maximum(lam, 0.0)) * noise_std
        s1, s2, nl = lin_s[rows, s, :1], lin_s[rows, s, 1:2], lin_n[rows, s]
        shape = (rows.size, length)
        feats = [  # features psi_f(x) of prod_i (s_i^2 + x x'), by number of linear factors
            np.broadcast_to(np.where(nl[:, None] == 0, 1.0, np.where(nl[:, None] == 1, s1, s1 * s2)), shape),
            np.where(nl[:, None] == 1, x, s1 * x),
            s2 * x,
            np.broadcast_to(x * x, shape),
        ]
        for f, psi in enumerate(feats):
            need = (nl >= 1) if f == 1 else (nl >= 2) if f >= 2 else np.ones(rows.size, dtype=bool)
            i = np.flatnonzero(need)
            if i.size:
                out[rows[i]] += psi[i] * _circulant_samples(rng, lam_sqrt[i], length)
    return out


def kernel_synth(
    n: int,
    length: int,
    *,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    max_kernels: int = 5,
    kernel_weights: Mapping[str, float] | None = None,
    periods: tuple[float, ...] = COMMON_PERIODS,
    p_common_period: float = 0.7,
) -> np.ndarray:
    """Generate ``n`` Gaussian-process series of ``length`` points with random composite kernels.

    Parameters
    ----------
    n : int
        Number of series, ``>= 1``.
    length : int
        Points per series, ``>= 2``.
    seed, rng
        Seed or generator (mutually exclusive); the same seed always gives the same array.
    max_kernels : int
        Largest number of bank kernels combined per series (``>= 1``; Chronos uses 5).
    kernel_weights : mapping, optional
        Relative frequency of each kind in ``KERNEL_KINDS``; default ``DEFAULT_WEIGHTS``.
    periods : tuple of float
        Common periods (points) of the periodic kernel; those above ``length / 2`` are skipped.
    p_common_period : float
        Probability that a periodic kernel takes its period from ``periods`` rather than
        log-uniform in ``[2, length / 2]``.

    Returns
    -------
    np.ndarray
        ``(n, length)`` float32, finite, in the GP's own scale (values of order 1-10).

    Examples
    --------
    >>> kernel_synth(3, 256, seed=0).shape
    (3, 256)
    """
    n = check_int("n", n, 1)
    length = check_int("length", length, 2)
    max_kernels = check_int("max_kernels", max_kernels, 1)
    weights = check_weights(
        "kernel_weights", DEFAULT_WEIGHTS if kernel_weights is None else kernel_weights, KERNEL_KINDS
    )
    if weights.get("constant", 0.0) > 0 and sum(v for kk, v in weights.items() if kk != "constant") == 0:
        raise ValueError("kernel_weights: at least one kind other than 'constant' needs a positive weight")
    per = tuple(float(p) for p in periods)
    if not per or any(not np.isfinite(p) or p < 2 for p in per):
        raise ValueError(f"periods must be non-empty with every period >= 2, got {periods!r}")
    p_common = check_prob("p_common_period", p_common_period)
    gen = resolve_rng(seed, rng)
    rows = max(1, _CHUNK_VALUES // (length * max_kernels))
    bounds = list(chunk_bounds(n, rows))
    out = np.empty((n, length), dtype=np.float32)
    for (start, stop), crng in zip(bounds, child_rngs(gen, len(bounds)), strict=True):
        out[start:stop] = _chunk(crng, stop - start, length, max_kernels, weights, per, p_common)
    return out
