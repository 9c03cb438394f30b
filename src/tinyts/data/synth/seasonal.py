"""Seasonal components of the SynthTS generator: 1-4 periodic shapes per series.

Periods prefer the common sampling-rate families of :class:`SynthConfig` (24/168, 96/672, 7/365, 12,
52, ...) and otherwise are log-uniform. Shapes are evaluated on the phase ``u`` in ``[0, 1)`` and each
component is normalised to unit std before it gets its amplitude, so shapes are comparable.
Vectorised over series: the loops run over component slots and shape kinds only.
"""

from __future__ import annotations

import numpy as np

from tinyts.data.synth.common import loguniform, weighted_codes
from tinyts.data.synth.config import SEASONAL_SHAPES, SynthConfig

__all__ = ["draw_periods", "seasonal_component"]

TWO_PI = 2.0 * np.pi
#: ECG-like beat: (centre, amplitude, width) of the P, Q, R, S and T waves, in fractions of a beat.
_ECG_WAVES = np.array(
    [
        [0.20, 0.15, 0.025],
        [0.37, -0.12, 0.010],
        [0.40, 1.00, 0.012],
        [0.43, -0.25, 0.010],
        [0.65, 0.30, 0.045],
    ]
)
_ECG_MIN_PERIOD = 60.0


def draw_periods(rng: np.random.Generator, n: int, length: int, cfg: SynthConfig) -> np.ndarray:
    """Periods of the seasonal slots, shape ``(n, K)``; ``NaN`` marks an unused slot.

    Slot 0 is always used. Common periods come from one family per series, in random order, and
    fill the first slots; slots without a fitting common period get log-uniform random periods.
    """
    k = len(cfg.n_seasonal_weights)
    w = np.asarray(cfg.n_seasonal_weights, dtype=float)
    counts = 1 + rng.choice(k, size=n, p=w / w.sum())
    hi = max(cfg.max_period_fraction * length, cfg.min_period)
    width = max(k, max(len(f) for f in cfg.period_families))
    fam_table = np.full((len(cfg.period_families), width), np.nan)
    for i, family in enumerate(cfg.period_families):
        fam_table[i, : len(family)] = [float(p) for p in family]
    fam = fam_table[rng.integers(0, len(cfg.period_families), size=n)]
    fam[fam > hi] = np.nan
    # random order within the family, fitting periods first; slots beyond the family stay NaN
    keys = rng.random((n, width)) + 10.0 * np.isnan(fam)
    fam = np.take_along_axis(fam, np.argsort(keys, axis=1), axis=1)[:, :k]
    use_common = (rng.random((n, k)) < cfg.p_common_period) & np.isfinite(fam)
    periods = np.where(use_common, fam, loguniform(rng, cfg.min_period, hi, (n, k)))
    periods[np.arange(k)[None, :] >= counts[:, None]] = np.nan
    return periods


def _f32(a: np.ndarray | float) -> np.ndarray:
    """Per-series parameters as float32 columns, so shape arithmetic stays in fast float32."""
    return np.asarray(a, dtype=np.float32).reshape(-1, 1)


def _circ_dist(u: np.ndarray, centre: np.ndarray | float) -> np.ndarray:
    d = np.abs(u - centre)
    return np.minimum(d, 1.0 - d)


def _shape(
    kind: str, u: np.ndarray, period: np.ndarray, rng: np.random.Generator, cfg: SynthConfig
) -> np.ndarray:
    """Evaluate one shape kind on the float32 phases ``u`` (``(m, L)``) of ``m`` series."""
    m = u.shape[0]
    two_pi = np.float32(TWO_PI)
    if kind == "sine":
        return np.sin(two_pi * u)
    if kind == "harmonic":
        theta = two_pi * u
        s1, c1 = np.sin(theta), np.cos(theta)
        lo, hi = cfg.n_harmonics
        n_h = rng.integers(lo, hi + 1, size=m)
        decay = rng.uniform(0.8, 2.5, size=m)
        out = np.zeros_like(u)
        s_prev, c_prev = np.zeros_like(u), np.ones_like(u)
        s_k, c_k = s1, c1
        for h in range(1, hi + 1):
            amp = np.where(h <= n_h, h**-decay * rng.lognormal(0.0, 0.5, size=m), 0.0)
            ph = rng.uniform(0.0, TWO_PI, size=m)
            out += _f32(amp * np.cos(ph)) * s_k + _f32(amp * np.sin(ph)) * c_k
            # Chebyshev recurrence: sin/cos of (h+1) theta without further transcendental calls
            s_next = 2.0 * c1 * s_k - s_prev
            c_next = 2.0 * c1 * c_k - c_prev
            s_prev, c_prev, s_k, c_k = s_k, c_k, s_next, c_next
        return out
    if kind == "sawtooth":
        # rises over a fraction ``w`` of the cycle and falls over the rest: triangle (w = 0.5) to
        # sawtooth (w -> 1), mirrored at random (charge/discharge, tank levels)
        w = _f32(rng.uniform(0.5, 0.97, size=m))
        sign = _f32(np.where(rng.random(m) < 0.5, 1.0, -1.0))
        return sign * np.where(u < w, u / w, (1.0 - u) / (1.0 - w))
    if kind == "square":
        duty = _f32(rng.uniform(0.2, 0.8, size=m))
        return np.where(u < duty, np.float32(1.0), np.float32(-1.0))
    if kind == "pulse":
        width = _f32(np.maximum(rng.uniform(0.01, 0.12, size=m), 1.0 / period))
        return np.exp(-0.5 * (_circ_dist(u, 0.5) / width) ** 2)
    if kind == "ecg":
        out = np.zeros_like(u)
        for centre, amp, width in _ECG_WAVES:
            c = _f32(centre + rng.normal(0.0, 0.01, size=m))
            a = _f32(amp * rng.lognormal(0.0, 0.2, size=m))
            w = _f32(np.maximum(width * rng.lognormal(0.0, 0.2, size=m), 0.8 / period))
            out += a * np.exp(-0.5 * (_circ_dist(u, c) / w) ** 2)
        return out
    raise ValueError(f"unknown seasonal shape {kind!r}; accepted: {list(SEASONAL_SHAPES)}")


def _phase(
    tau: np.ndarray, period: np.ndarray, jitter: np.ndarray, rng: np.random.Generator, length: int
) -> np.ndarray:
    """Phase in ``[0, 1)`` of ``m`` series: ``tau / period + phi`` with optional wandering period."""
    m = tau.shape[0]
    cycles: np.ndarray = np.asarray(tau / period[:, None])
    jit = jitter > 0
    if jit.any():
        j = np.flatnonzero(jit)
        t = np.arange(length, dtype=float)[None, :]
        slow_p = loguniform(rng, 4.0, 40.0, (j.size, 2)) * period[j, None]
        ph = rng.uniform(0, TWO_PI, (j.size, 2))
        wander = np.sin(TWO_PI * t / slow_p[:, :1] + ph[:, :1]) + 0.5 * np.sin(
            TWO_PI * t / slow_p[:, 1:] + ph[:, 1:]
        )
        rate = 1.0 / (period[j, None] * (1.0 + jitter[j, None] * wander / 1.5))
        # cumulative phase of a series whose instantaneous period varies (warped time stays monotone)
        dtau = np.diff(tau[j], axis=1, prepend=tau[j, :1] - 1.0)
        cycles[j] = np.cumsum(rate * dtau, axis=1)
    cycles += rng.random((m, 1))
    return np.asarray(cycles - np.floor(cycles), dtype=np.float32)


def seasonal_component(
    rng: np.random.Generator, tau: np.ndarray, cfg: SynthConfig, rows: np.ndarray
) -> np.ndarray:
    """Sum of the seasonal components of the series ``rows`` (``(m, L)`` float64).

    Parameters
    ----------
    rng : numpy.random.Generator
    tau : np.ndarray
        ``(n, L)`` (possibly warped) time axis of the whole chunk.
    cfg : SynthConfig
    rows : np.ndarray
        Indices of the series that have seasonality.

    Returns
    -------
    np.ndarray
        ``(len(rows), L)``; the first component has std 1, others log-uniform amplitudes.
    """
    m, length = rows.size, tau.shape[1]
    out = np.zeros((m, length))
    if m == 0:
        return out
    periods = draw_periods(rng, m, length, cfg)
    k = periods.shape[1]
    shapes = weighted_codes(rng, cfg.seasonal_shapes, SEASONAL_SHAPES, m * k).reshape(m, k)
    amps = loguniform(rng, *cfg.seasonal_amp_range, (m, k))
    amps[:, 0] = 1.0
    jitter = np.where(
        rng.random((m, k)) < cfg.p_period_jitter, loguniform(rng, *cfg.period_jitter, (m, k)), 0.0
    )
    modulate = rng.random((m, k)) < cfg.p_amplitude_modulation
    t = np.arange(length, dtype=float)[None, :]
    for slot in range(k):
        used = np.isfinite(periods[:, slot])
        for code, kind in enumerate(SEASONAL_SHAPES):
            sel = np.flatnonzero(used & (shapes[:, slot] == code))
            if sel.size == 0:
                continue
            period = periods[sel, slot]
            if kind == "ecg":
                period = np.maximum(period, _ECG_MIN_PERIOD)
            u = _phase(tau[rows[sel]], period, jitter[sel, slot], rng, length)
            val = _shape(kind, u, period, rng, cfg)
            val -= val.mean(axis=1, keepdims=True)
            sd = val.std(axis=1, keepdims=True)
            val /= np.where(sd > 1e-12, sd, 1.0)
            mod = modulate[sel, slot]
            if mod.any():
                i = np.flatnonzero(mod)
                slow = loguniform(rng, 0.3 * length, 3.0 * length, i.size)[:, None]
                depth = rng.uniform(0.2, 0.8, i.size)[:, None]
                mod_phase = (t / slow + rng.random((i.size, 1))).astype(np.float32)
                val[i] *= 1.0 + _f32(depth) * np.sin(np.float32(TWO_PI) * mod_phase)
            out[sel] += amps[sel, slot, None] * val
    return out
